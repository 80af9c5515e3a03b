//! Risk verdicts for a plan: which changes can lose data or cause downtime, and why. Each
//! reason names the resource and the rule that fired. The catalogue of stateful types is data
//! (globs over Terraform types and Pulumi type tokens), extendable in `fathom.toml`.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Serialize;

use super::plan::{Action, Change, Plan};

/// How careful a human should be.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Safe,
    Review,
    Dangerous,
}

impl Level {
    pub fn upper(self) -> &'static str {
        match self {
            Level::Safe => "SAFE",
            Level::Review => "REVIEW",
            Level::Dangerous => "DANGEROUS",
        }
    }
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Reason {
    /// The resource it is about, or `(plan)` for plan-wide rules.
    pub address: String,
    /// Rule id: stateful, protected, downtime, access, dependents, many-deletes, destroy-all.
    pub rule: String,
    pub level: Level,
    pub detail: String,
}

/// Types whose deletion loses data: databases, buckets, volumes, disks, file systems,
/// snapshots, keys, DNS zones, secrets, log groups, queues, persistent volumes.
pub const STATEFUL_TYPES: &[&str] = &[
    // AWS (Terraform)
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_rds_cluster_instance",
    "aws_rds_global_cluster",
    "aws_db_snapshot",
    "aws_db_cluster_snapshot",
    "aws_dynamodb_table",
    "aws_dynamodb_global_table",
    "aws_s3_bucket",
    "aws_s3_object",
    "aws_ebs_volume",
    "aws_ebs_snapshot",
    "aws_efs_file_system",
    "aws_fsx_*_file_system",
    "aws_elasticache_cluster",
    "aws_elasticache_replication_group",
    "aws_redshift_cluster",
    "aws_docdb_cluster",
    "aws_neptune_cluster",
    "aws_opensearch_domain",
    "aws_elasticsearch_domain",
    "aws_kms_key",
    "aws_route53_zone",
    "aws_secretsmanager_secret",
    "aws_ssm_parameter",
    "aws_cloudwatch_log_group",
    "aws_sqs_queue",
    "aws_kinesis_stream",
    "aws_msk_cluster",
    "aws_backup_vault",
    "aws_ecr_repository",
    "aws_memorydb_cluster",
    "aws_timestreamwrite_table",
    "aws_glacier_vault",
    "aws_qldb_ledger",
    // Google Cloud
    "google_sql_database_instance",
    "google_sql_database",
    "google_storage_bucket",
    "google_compute_disk",
    "google_compute_snapshot",
    "google_compute_region_disk",
    "google_bigquery_dataset",
    "google_bigquery_table",
    "google_spanner_instance",
    "google_spanner_database",
    "google_bigtable_instance",
    "google_bigtable_table",
    "google_kms_crypto_key",
    "google_kms_key_ring",
    "google_dns_managed_zone",
    "google_secret_manager_secret",
    "google_pubsub_topic",
    "google_pubsub_subscription",
    "google_filestore_instance",
    "google_redis_instance",
    "google_firestore_database",
    "google_alloydb_cluster",
    "google_alloydb_instance",
    "google_logging_project_bucket_config",
    // Azure
    "azurerm_storage_account",
    "azurerm_storage_container",
    "azurerm_storage_share",
    "azurerm_managed_disk",
    "azurerm_snapshot",
    "azurerm_mssql_server",
    "azurerm_mssql_database",
    "azurerm_sql_*",
    "azurerm_postgresql_*server",
    "azurerm_postgresql_*database",
    "azurerm_mysql_*server",
    "azurerm_mysql_*database",
    "azurerm_cosmosdb_account",
    "azurerm_cosmosdb_*_database",
    "azurerm_cosmosdb_*_container",
    "azurerm_key_vault",
    "azurerm_key_vault_key",
    "azurerm_key_vault_secret",
    "azurerm_dns_zone",
    "azurerm_private_dns_zone",
    "azurerm_redis_cache",
    "azurerm_servicebus_namespace",
    "azurerm_servicebus_queue",
    "azurerm_eventhub_namespace",
    "azurerm_log_analytics_workspace",
    // Kubernetes
    "kubernetes_persistent_volume",
    "kubernetes_persistent_volume_v1",
    "kubernetes_persistent_volume_claim",
    "kubernetes_persistent_volume_claim_v1",
    "kubernetes_stateful_set",
    "kubernetes_stateful_set_v1",
    "kubernetes_secret",
    "kubernetes_secret_v1",
    "kubernetes_namespace",
    "kubernetes_namespace_v1",
    // Pulumi type tokens
    "aws:rds/*",
    "aws:dynamodb/table:Table",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:ebs/*",
    "aws:efs/fileSystem:FileSystem",
    "aws:elasticache/*",
    "aws:redshift/cluster:Cluster",
    "aws:docdb/cluster:Cluster",
    "aws:opensearch/domain:Domain",
    "aws:kms/key:Key",
    "aws:route53/zone:Zone",
    "aws:secretsmanager/secret:Secret",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:sqs/queue:Queue",
    "aws:kinesis/stream:Stream",
    "aws:ecr/repository:Repository",
    "gcp:sql/*",
    "gcp:storage/bucket:Bucket",
    "gcp:compute/disk:Disk",
    "gcp:bigquery/*",
    "gcp:spanner/*",
    "gcp:kms/*",
    "gcp:dns/managedZone:ManagedZone",
    "gcp:secretmanager/secret:Secret",
    "gcp:pubsub/*",
    "gcp:redis/instance:Instance",
    "azure-native:storage:*",
    "azure-native:sql:*",
    "azure-native:dbforpostgresql:*",
    "azure-native:dbformysql:*",
    "azure-native:documentdb:*",
    "azure-native:keyvault:*",
    "azure-native:compute:Disk",
    "azure-native:compute:Snapshot",
    "azure:storage/*",
    "azure:sql/*",
    "azure:keyvault/*",
    "kubernetes:core/v1:PersistentVolume",
    "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:Namespace",
    "kubernetes:apps/v1:StatefulSet",
];

/// Types that govern access: changes to them need a human's eye.
pub const ACCESS_TYPES: &[&str] = &[
    "*_iam_*",
    "*iam_role*",
    "*iam_policy*",
    "*_policy",
    "*_policy_*",
    "*security_group*",
    "*firewall*",
    "*network_acl*",
    "*_role_assignment",
    "*_role_definition",
    "kubernetes_*role*",
    "aws:iam/*",
    "gcp:projects/iam*",
    "gcp:*/iam*",
    "azure-native:authorization:*",
    "kubernetes:rbac.authorization.k8s.io/*",
    "aws:ec2/securityGroup*",
];

/// Attributes that, set true in the prior state, protect a resource from deletion.
pub const PROTECTION_ATTRIBUTES: &[&str] = &[
    "deletion_protection",
    "deletion_protection_enabled",
    "enable_deletion_protection",
    "termination_protection",
    "disable_api_termination",
    "prevent_destroy",
    "deletionProtection",
];

/// Knobs for the rules.
#[derive(Debug, Clone)]
pub struct Rules {
    stateful: GlobSet,
    access: GlobSet,
    /// This many deletions in one plan is worth a review.
    pub many_deletes: usize,
    /// Deleting something this many others depend on is worth a review.
    pub many_dependents: usize,
}

impl Rules {
    /// The built-in catalogue plus extra stateful type globs from the configuration.
    pub fn new(
        extra_stateful: &[String],
        many_deletes: usize,
        many_dependents: usize,
    ) -> Result<Self, String> {
        let build = |patterns: &mut dyn Iterator<Item = &str>| -> Result<GlobSet, String> {
            let mut b = GlobSetBuilder::new();
            for p in patterns {
                b.add(Glob::new(p).map_err(|e| format!("invalid type glob `{p}`: {e}"))?);
            }
            b.build().map_err(|e| e.to_string())
        };
        Ok(Self {
            stateful: build(
                &mut STATEFUL_TYPES
                    .iter()
                    .copied()
                    .chain(extra_stateful.iter().map(String::as_str)),
            )?,
            access: build(&mut ACCESS_TYPES.iter().copied())?,
            many_deletes,
            many_dependents,
        })
    }

    pub fn is_stateful(&self, rtype: &str) -> bool {
        self.stateful.is_match(rtype)
    }

    pub fn is_access(&self, rtype: &str) -> bool {
        self.access.is_match(rtype)
    }
}

/// The verdict on a plan.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub level: Level,
    pub reasons: Vec<Reason>,
    /// Level of each change, index-aligned with `plan.changes`.
    pub change_levels: Vec<Level>,
}

/// How many resources depend on an address in the current state (for the dependents rule).
pub type DependentsOf<'a> = &'a dyn Fn(&str) -> Option<usize>;

/// Applies every rule to a plan.
pub fn assess(plan: &Plan, rules: &Rules, dependents: DependentsOf<'_>) -> Verdict {
    let mut reasons = Vec::new();
    let mut change_levels = Vec::with_capacity(plan.changes.len());
    for c in &plan.changes {
        let before = reasons.len();
        change_reasons(c, rules, dependents, &mut reasons);
        let level = reasons[before..]
            .iter()
            .map(|r| r.level)
            .max()
            .unwrap_or(Level::Safe);
        change_levels.push(level);
    }
    let destroys = plan.changes.iter().filter(|c| c.action.destroys()).count();
    let creates = plan
        .changes
        .iter()
        .filter(|c| {
            matches!(
                c.action,
                Action::Create | Action::ReplaceCreateFirst | Action::ReplaceDeleteFirst
            )
        })
        .count();
    let deletes_only = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .count();
    if plan.prior_resources > 0 && deletes_only >= plan.prior_resources && creates == 0 {
        reasons.push(Reason {
            address: "(plan)".into(),
            rule: "destroy-all".into(),
            level: Level::Dangerous,
            detail: format!("destroys every resource in the state ({deletes_only})"),
        });
    } else if destroys >= rules.many_deletes {
        reasons.push(Reason {
            address: "(plan)".into(),
            rule: "many-deletes".into(),
            level: Level::Review,
            detail: format!("{destroys} resources destroyed in one plan"),
        });
    }
    if plan.errored {
        reasons.push(Reason {
            address: "(plan)".into(),
            rule: "incomplete".into(),
            level: Level::Review,
            detail: "terraform reported errors: the plan is incomplete".into(),
        });
    }
    let level = reasons.iter().map(|r| r.level).max().unwrap_or(Level::Safe);
    reasons.sort_by(|a, b| b.level.cmp(&a.level).then(a.address.cmp(&b.address)));
    Verdict {
        level,
        reasons,
        change_levels,
    }
}

fn change_reasons(c: &Change, rules: &Rules, dependents: DependentsOf<'_>, out: &mut Vec<Reason>) {
    if c.mode == "data"
        || matches!(
            c.action,
            Action::NoOp | Action::Read | Action::Move | Action::Import
        )
    {
        return;
    }
    let mut push = |rule: &str, level: Level, detail: String| {
        out.push(Reason {
            address: c.address.clone(),
            rule: rule.into(),
            level,
            detail,
        })
    };
    let why = replace_cause(c);
    if c.action.destroys() && rules.is_stateful(&c.rtype) {
        let verb = if c.action.replaces() {
            "replaces"
        } else {
            "deletes"
        };
        push(
            "stateful",
            Level::Dangerous,
            format!("{verb} stateful {}{why}", c.rtype),
        );
    }
    if c.action.destroys() {
        for attr in PROTECTION_ATTRIBUTES {
            if c.before_attribute(attr) == Some(&serde_json::Value::Bool(true)) {
                push(
                    "protected",
                    Level::Dangerous,
                    format!(
                        "{attr} = true in the current state: the apply will fail or the protection is being bypassed"
                    ),
                );
            }
        }
    }
    if c.action.destroys() && c.prevent_destroy {
        let at = c.source.as_deref().unwrap_or("the configuration");
        push(
            "protected",
            Level::Dangerous,
            format!("lifecycle prevent_destroy at {at}: terraform refuses to apply this"),
        );
    }
    if c.action.destroys() && c.protected {
        push(
            "protected",
            Level::Dangerous,
            "protect is set: the engine will refuse until it is unprotected".to_string(),
        );
    }
    if c.action.destroys() && c.retain_on_delete {
        push(
            "retained",
            Level::Review,
            "retainOnDelete: the cloud object stays behind, unmanaged".to_string(),
        );
    }
    if c.action == Action::ReplaceDeleteFirst && !rules.is_stateful(&c.rtype) {
        push(
            "downtime",
            Level::Review,
            format!("delete-before-create replacement{why}: unavailable in between"),
        );
    }
    if rules.is_access(&c.rtype) {
        push(
            "access",
            Level::Review,
            format!(
                "{} of an access-control resource ({})",
                c.action.verb(),
                c.rtype
            ),
        );
    }
    if c.action.destroys()
        && let Some(n) = dependents(c.address.as_str())
        && n >= rules.many_dependents
    {
        push(
            "dependents",
            Level::Review,
            format!("{n} resources in the state depend on it"),
        );
    }
}

/// ` (engine forces replacement)` when replace paths are known.
fn replace_cause(c: &Change) -> String {
    if !c.action.replaces() {
        return String::new();
    }
    if !c.replace_paths.is_empty() {
        let paths = c
            .replace_paths
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        return format!(" ({paths} forces replacement)");
    }
    match c.reason.as_deref() {
        Some("replace_because_tainted") => " (tainted)".into(),
        Some("replace_by_request") => " (-replace requested)".into(),
        Some("replace_by_triggers") => " (replace_triggered_by)".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(changes: serde_json::Value, prior: usize) -> Plan {
        let doc = serde_json::json!({"format_version": "1.2", "resource_changes": changes});
        let mut p = crate::iac::plan::parse_plan(doc.to_string().as_bytes(), "t").unwrap();
        p.prior_resources = prior;
        p
    }

    #[test]
    fn many_deletes_and_destroy_all() {
        let rules = Rules::new(&[], 3, 5).unwrap();
        let del = |i: usize| {
            serde_json::json!({"address": format!("aws_instance.w{i}"), "type": "aws_instance", "name": format!("w{i}"),
            "mode": "managed", "change": {"actions": ["delete"], "before": {}, "after": null}})
        };
        let none = |_: &str| None;
        let v = assess(
            &plan_of(serde_json::json!([del(1), del(2), del(3)]), 10),
            &rules,
            &none,
        );
        assert_eq!(v.level, Level::Review);
        assert!(
            v.reasons.iter().any(|r| r.rule == "many-deletes"),
            "{:?}",
            v.reasons
        );
        let v = assess(
            &plan_of(serde_json::json!([del(1), del(2)]), 2),
            &rules,
            &none,
        );
        assert_eq!(v.level, Level::Dangerous);
        assert!(
            v.reasons.iter().any(|r| r.rule == "destroy-all"),
            "{:?}",
            v.reasons
        );
        let v = assess(&plan_of(serde_json::json!([del(1)]), 10), &rules, &none);
        assert_eq!(v.level, Level::Safe);
    }

    #[test]
    fn catalogue_compiles_and_matches() {
        let r = Rules::new(&["fathomtest_database".into()], 10, 5).unwrap();
        for t in [
            "aws_db_instance",
            "aws:rds/instance:Instance",
            "google_sql_database_instance",
            "azurerm_postgresql_flexible_server",
            "kubernetes:core/v1:PersistentVolumeClaim",
            "fathomtest_database",
        ] {
            assert!(r.is_stateful(t), "{t}");
        }
        for t in ["aws_instance", "aws_lambda_function", "random_id"] {
            assert!(!r.is_stateful(t), "{t}");
        }
        for t in [
            "aws_iam_role",
            "aws_security_group",
            "google_project_iam_member",
            "aws_s3_bucket_policy",
        ] {
            assert!(r.is_access(t), "{t}");
        }
        assert!(!r.is_access("aws_instance"));
    }
}
