//! Terraform/OpenTofu plans (`show -json` of a saved plan) read into the engine-neutral
//! change model: one [`Change`] per resource instance with its [`Action`], reasons, and
//! attribute diffs that mask sensitive values and mark unknown ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::secrets;

/// What a change does to one resource instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Read,
    Update,
    Delete,
    /// Delete, then create (downtime between the two).
    ReplaceDeleteFirst,
    /// Create the new object, then delete the old one.
    ReplaceCreateFirst,
    /// Remove from state without destroying (`removed` blocks, `forget`).
    Forget,
    /// Forget the old object and create a new one (`["create","forget"]`, OpenTofu's
    /// `["forget","create"]`).
    ForgetReplace,
    /// Bring an existing object under management.
    Import,
    /// Only the address changes (`moved`).
    Move,
}

impl Action {
    /// Maps a Terraform/OpenTofu `actions` list.
    pub fn from_terraform(actions: &[String], importing: bool, moved: bool) -> Option<Self> {
        let a: Vec<&str> = actions.iter().map(String::as_str).collect();
        let action = match a.as_slice() {
            ["no-op"] | [] => {
                if importing {
                    Action::Import
                } else if moved {
                    Action::Move
                } else {
                    Action::NoOp
                }
            }
            ["create"] => Action::Create,
            ["read"] => Action::Read,
            ["update"] => Action::Update,
            ["delete"] => Action::Delete,
            ["delete", "create"] => Action::ReplaceDeleteFirst,
            ["create", "delete"] => Action::ReplaceCreateFirst,
            ["forget"] => Action::Forget,
            ["create", "forget"] | ["forget", "create"] => Action::ForgetReplace,
            _ => return None,
        };
        Some(action)
    }

    /// Short verb for one-line rendering.
    pub fn verb(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::ReplaceDeleteFirst => "replace (delete first)",
            Action::ReplaceCreateFirst => "replace (create first)",
            Action::Forget => "forget",
            Action::ForgetReplace => "forget + create",
            Action::Import => "import",
            Action::Move => "move",
        }
    }

    /// Whether the existing object is destroyed.
    pub fn destroys(self) -> bool {
        matches!(
            self,
            Action::Delete | Action::ReplaceDeleteFirst | Action::ReplaceCreateFirst
        )
    }

    /// Whether it is one of the replace forms.
    pub fn replaces(self) -> bool {
        matches!(
            self,
            Action::ReplaceDeleteFirst | Action::ReplaceCreateFirst | Action::ForgetReplace
        )
    }
}

/// One attribute that differs.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AttributeDiff {
    pub path: String,
    /// Prior value (`[sensitive]` when masked; absent for creates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// Planned value (`[sensitive]` when masked; absent when unknown or deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// Known only after apply.
    #[serde(skip_serializing_if = "is_false")]
    pub unknown: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub sensitive: bool,
    /// This attribute forces the replacement.
    #[serde(skip_serializing_if = "is_false")]
    pub forces_replacement: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A planned change to one resource instance.
#[derive(Debug, Clone)]
pub struct Change {
    pub address: String,
    pub previous_address: Option<String>,
    pub module: Option<String>,
    pub mode: String,
    pub rtype: String,
    pub name: String,
    pub provider: Option<String>,
    pub action: Action,
    /// Terraform's `action_reason` (`replace_because_cannot_update`, `delete_because_no_resource_config`…).
    pub reason: Option<String>,
    /// Attribute paths that force replacement.
    pub replace_paths: Vec<String>,
    pub deposed: Option<String>,
    /// Pulumi `protect` on the existing resource.
    pub protected: bool,
    /// Pulumi `retainOnDelete` on the existing resource.
    pub retain_on_delete: bool,
    /// `path:line` of the declaring block, when the source was indexed.
    pub source: Option<String>,
    /// `lifecycle { prevent_destroy = true }` in the source.
    pub prevent_destroy: bool,
    /// Prior and planned values, unmasked: only read through [`Change::diffs`].
    pub(crate) before: Value,
    pub(crate) after: Value,
    pub(crate) after_unknown: Value,
    pub(crate) before_sensitive: Value,
    pub(crate) after_sensitive: Value,
}

impl Change {
    /// The prior value of an attribute (top level), for risk rules that read flags such as
    /// `deletion_protection`. Sensitive values are never returned.
    pub fn before_attribute(&self, key: &str) -> Option<&Value> {
        if self
            .before_sensitive
            .get(key)
            .is_some_and(|v| v == &Value::Bool(true))
        {
            return None;
        }
        self.before.get(key)
    }

    /// Attribute differences with sensitive values masked and unknown values marked.
    pub fn diffs(&self) -> Vec<AttributeDiff> {
        let mut out = Vec::new();
        diff_values(
            &self.before,
            &self.after,
            &self.after_unknown,
            &self.before_sensitive,
            &self.after_sensitive,
            String::new(),
            &mut out,
        );
        for d in &mut out {
            d.forces_replacement = self.replace_paths.iter().any(|p| {
                d.path == *p
                    || d.path.starts_with(&format!("{p}."))
                    || d.path.starts_with(&format!("{p}["))
            });
        }
        out
    }
}

/// Most attribute diffs computed per change; a generated map of 10,000 keys stops here.
const MAX_DIFFS: usize = 200;

fn sensitive_here(mask: &Value) -> bool {
    mask == &Value::Bool(true)
}

fn child<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

fn child_i(v: &Value, i: usize) -> &Value {
    v.get(i).unwrap_or(&Value::Null)
}

#[allow(clippy::too_many_arguments)]
fn diff_values(
    before: &Value,
    after: &Value,
    unknown: &Value,
    before_sensitive: &Value,
    after_sensitive: &Value,
    path: String,
    out: &mut Vec<AttributeDiff>,
) {
    if out.len() >= MAX_DIFFS {
        return;
    }
    let is_unknown = unknown == &Value::Bool(true);
    let bs = sensitive_here(before_sensitive);
    let as_ = sensitive_here(after_sensitive);
    if is_unknown || bs || as_ {
        if before == after && !is_unknown {
            return;
        }
        out.push(AttributeDiff {
            path: if path.is_empty() {
                "(all)".into()
            } else {
                path
            },
            before: (!before.is_null()).then(|| {
                if bs {
                    Value::String(secrets::SENSITIVE.into())
                } else {
                    masked(before, before_sensitive)
                }
            }),
            after: (!is_unknown && !after.is_null()).then(|| {
                if as_ {
                    Value::String(secrets::SENSITIVE.into())
                } else {
                    masked(after, after_sensitive)
                }
            }),
            unknown: is_unknown,
            sensitive: bs || as_,
            forces_replacement: false,
        });
        return;
    }
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for k in keys {
                let p = join(&path, k);
                diff_values(
                    child(before, k),
                    child(after, k),
                    child(unknown, k),
                    child(before_sensitive, k),
                    child(after_sensitive, k),
                    p,
                    out,
                );
            }
            unknown_only(
                unknown,
                |k| b.contains_key(k) || a.contains_key(k),
                &path,
                out,
            );
        }
        (Value::Array(b), Value::Array(a)) if b.len() == a.len() => {
            for i in 0..a.len() {
                diff_values(
                    child_i(before, i),
                    child_i(after, i),
                    child_i(unknown, i),
                    child_i(before_sensitive, i),
                    child_i(after_sensitive, i),
                    format!("{path}[{i}]"),
                    out,
                );
            }
        }
        (Value::Null, Value::Object(a)) if !a.is_empty() => {
            // A create: list each planned attribute.
            for (k, v) in a {
                let p = join(&path, k);
                diff_values(
                    &Value::Null,
                    v,
                    child(unknown, k),
                    &Value::Null,
                    child(after_sensitive, k),
                    p,
                    out,
                );
            }
            unknown_only(unknown, |k| a.contains_key(k), &path, out);
        }
        _ => {
            if before != after
                || (before.is_null() && after.is_null() && !path.is_empty() && unknown.is_object())
            {
                if before == after {
                    return;
                }
                out.push(AttributeDiff {
                    path: if path.is_empty() {
                        "(all)".into()
                    } else {
                        path
                    },
                    before: (!before.is_null()).then(|| masked(before, before_sensitive)),
                    after: (!after.is_null()).then(|| masked(after, after_sensitive)),
                    unknown: false,
                    sensitive: false,
                    forces_replacement: false,
                });
            }
        }
    }
}

/// `path.key`, or `key` at the top.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Attributes that exist only as "known after apply" (absent from before and after).
fn unknown_only(
    unknown: &Value,
    known: impl Fn(&str) -> bool,
    path: &str,
    out: &mut Vec<AttributeDiff>,
) {
    if let Value::Object(u) = unknown {
        for (k, v) in u {
            if !known(k) && v == &Value::Bool(true) {
                diff_values(
                    &Value::Null,
                    &Value::Null,
                    v,
                    &Value::Null,
                    &Value::Null,
                    join(path, k),
                    out,
                );
            }
        }
    }
}

/// `v` with the leaves `mask` marks replaced.
fn masked(v: &Value, mask: &Value) -> Value {
    let mut v = v.clone();
    secrets::mask_mirror(&mut v, mask);
    secrets::mask_pulumi_secrets(&mut v);
    v
}

/// A changed output.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    pub sensitive: bool,
}

/// A parsed plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub format_version: String,
    pub engine_version: Option<String>,
    pub changes: Vec<Change>,
    /// Changes made outside Terraform since the last apply (`resource_drift`).
    pub drift: Vec<Change>,
    pub outputs: Vec<OutputChange>,
    /// Addresses of managed resources in the prior state (for destroy-everything checks).
    pub prior_resources: usize,
    /// `errored: true`: the plan is incomplete.
    pub errored: bool,
    pub warnings: Vec<String>,
}

/// Counts as Terraform prints them: a replace is one add and one destroy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Counts {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub replace: usize,
    pub import: usize,
    pub forget: usize,
    #[serde(rename = "move")]
    pub moved: usize,
    pub read: usize,
    pub no_op: usize,
}

impl Plan {
    /// Adds source locations and `prevent_destroy` from the configuration.
    pub fn link_sources(&mut self, index: &super::source::SourceIndex) {
        for c in &mut self.changes {
            if let Some(d) = index.find(&c.address) {
                c.source = Some(d.location());
                c.prevent_destroy = d.prevent_destroy;
            }
        }
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for ch in self.changes.iter().filter(|c| c.mode != "data") {
            match ch.action {
                Action::Create => c.add += 1,
                Action::Update => c.change += 1,
                Action::Delete => c.destroy += 1,
                Action::ReplaceDeleteFirst | Action::ReplaceCreateFirst => {
                    c.add += 1;
                    c.destroy += 1;
                    c.replace += 1;
                }
                Action::ForgetReplace => {
                    c.add += 1;
                    c.forget += 1;
                    c.replace += 1;
                }
                Action::Forget => c.forget += 1,
                Action::Import => c.import += 1,
                Action::Move => c.moved += 1,
                Action::Read => c.read += 1,
                Action::NoOp => c.no_op += 1,
            }
        }
        c.read += self
            .changes
            .iter()
            .filter(|c| c.mode == "data" && c.action == Action::Read)
            .count();
        c
    }
}

/// Why a plan could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{what} is not valid JSON: {detail}")]
    Json { what: String, detail: String },
    #[error("{what} is JSON but not a Terraform plan (no `resource_changes` or `planned_values`)")]
    NotAPlan { what: String },
}

#[derive(Debug, Deserialize)]
struct RawPlan {
    format_version: Option<String>,
    terraform_version: Option<String>,
    #[serde(default, deserialize_with = "super::read::null_default")]
    resource_changes: Vec<RawResourceChange>,
    #[serde(default, deserialize_with = "super::read::null_default")]
    resource_drift: Vec<RawResourceChange>,
    #[serde(default, deserialize_with = "super::read::null_default")]
    output_changes: BTreeMap<String, RawChange>,
    prior_state: Option<Value>,
    planned_values: Option<Value>,
    #[serde(default)]
    errored: bool,
}

#[derive(Debug, Deserialize)]
struct RawResourceChange {
    address: String,
    previous_address: Option<String>,
    module_address: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(rename = "type", default)]
    rtype: String,
    #[serde(default)]
    name: String,
    provider_name: Option<String>,
    deposed: Option<String>,
    change: RawChange,
    action_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawChange {
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    before: Value,
    #[serde(default)]
    after: Value,
    #[serde(default)]
    after_unknown: Value,
    #[serde(default)]
    before_sensitive: Value,
    #[serde(default)]
    after_sensitive: Value,
    #[serde(default)]
    replace_paths: Option<Vec<Vec<Value>>>,
    importing: Option<Value>,
}

/// Newest plan `format_version` major understood; newer ones are read with a warning.
const KNOWN_FORMAT_MAJOR: u64 = 1;

/// Parses `terraform show -json <planfile>` output.
pub fn parse_plan(bytes: &[u8], what: &str) -> Result<Plan, PlanError> {
    let raw: RawPlan = serde_json::from_slice(bytes).map_err(|e| PlanError::Json {
        what: what.to_string(),
        detail: e.to_string(),
    })?;
    if raw.resource_changes.is_empty()
        && raw.planned_values.is_none()
        && raw.format_version.is_none()
    {
        return Err(PlanError::NotAPlan {
            what: what.to_string(),
        });
    }
    let format_version = raw.format_version.unwrap_or_else(|| "?".into());
    let mut warnings = Vec::new();
    let major = format_version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u64>().ok())
        .unwrap_or(0);
    if major > KNOWN_FORMAT_MAJOR {
        warnings.push(format!(
            "plan format_version {format_version} is newer than fathom knows ({KNOWN_FORMAT_MAJOR}.x); read as far as it matches"
        ));
    }
    if raw.errored {
        warnings.push("terraform reported errors while planning: this plan is incomplete".into());
    }
    let mut unknown_actions = 0;
    let mut convert = |rc: RawResourceChange| -> Option<Change> {
        let importing = rc.change.importing.is_some();
        let moved = rc
            .previous_address
            .as_ref()
            .is_some_and(|p| p != &rc.address);
        let Some(action) = Action::from_terraform(&rc.change.actions, importing, moved) else {
            unknown_actions += 1;
            return None;
        };
        let replace_paths = rc
            .change
            .replace_paths
            .unwrap_or_default()
            .iter()
            .map(|steps| path_text(steps))
            .collect();
        Some(Change {
            address: rc.address,
            previous_address: rc.previous_address,
            module: rc.module_address,
            mode: rc.mode.unwrap_or_else(|| "managed".into()),
            rtype: rc.rtype,
            name: rc.name,
            provider: rc.provider_name,
            action,
            reason: rc.action_reason,
            replace_paths,
            deposed: rc.deposed,
            protected: false,
            retain_on_delete: false,
            source: None,
            prevent_destroy: false,
            before: rc.change.before,
            after: rc.change.after,
            after_unknown: rc.change.after_unknown,
            before_sensitive: rc.change.before_sensitive,
            after_sensitive: rc.change.after_sensitive,
        })
    };
    let changes: Vec<Change> = raw
        .resource_changes
        .into_iter()
        .filter_map(&mut convert)
        .collect();
    let drift: Vec<Change> = raw
        .resource_drift
        .into_iter()
        .filter_map(&mut convert)
        .collect();
    if unknown_actions > 0 {
        warnings.push(format!(
            "{unknown_actions} change(s) with an action list fathom does not know were left out"
        ));
    }
    let outputs = raw
        .output_changes
        .into_iter()
        .filter_map(|(name, c)| {
            let action = Action::from_terraform(&c.actions, false, false)?;
            let sensitive =
                c.before_sensitive == Value::Bool(true) || c.after_sensitive == Value::Bool(true);
            Some(OutputChange {
                name,
                action,
                sensitive,
            })
        })
        .collect();
    let prior_resources = raw
        .prior_state
        .as_ref()
        .and_then(|p| p.pointer("/values/root_module"))
        .map_or(0, count_managed);
    Ok(Plan {
        format_version,
        engine_version: raw.terraform_version,
        changes,
        drift,
        outputs,
        prior_resources,
        errored: raw.errored,
        warnings,
    })
}

fn count_managed(module: &Value) -> usize {
    let own = module["resources"]
        .as_array()
        .map_or(0, |rs| rs.iter().filter(|r| r["mode"] == "managed").count());
    own + module["child_modules"]
        .as_array()
        .map_or(0, |c| c.iter().map(count_managed).sum())
}

/// `["tags", "env"]` → `tags.env`; `["rules", 0, "cidr"]` → `rules[0].cidr`.
fn path_text(steps: &[Value]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Value::Number(n) => out.push_str(&format!("[{n}]")),
            Value::String(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            other => out.push_str(&format!("[{other}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acts(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_documented_action_list_maps() {
        let cases: &[(&[&str], Action)] = &[
            (&["no-op"], Action::NoOp),
            (&["create"], Action::Create),
            (&["read"], Action::Read),
            (&["update"], Action::Update),
            (&["delete"], Action::Delete),
            (&["delete", "create"], Action::ReplaceDeleteFirst),
            (&["create", "delete"], Action::ReplaceCreateFirst),
            (&["forget"], Action::Forget),
            (&["create", "forget"], Action::ForgetReplace),
            (&["forget", "create"], Action::ForgetReplace),
        ];
        for (list, want) in cases {
            assert_eq!(
                Action::from_terraform(&acts(list), false, false),
                Some(*want),
                "{list:?}"
            );
        }
        assert_eq!(
            Action::from_terraform(&acts(&["no-op"]), true, false),
            Some(Action::Import)
        );
        assert_eq!(
            Action::from_terraform(&acts(&["no-op"]), false, true),
            Some(Action::Move)
        );
        assert_eq!(
            Action::from_terraform(&acts(&["explode"]), false, false),
            None
        );
    }

    #[test]
    fn diffs_mask_sensitive_and_mark_unknown() {
        let plan = json!({
            "format_version": "1.2",
            "resource_changes": [{
                "address": "db.main", "mode": "managed", "type": "db", "name": "main",
                "change": {
                    "actions": ["delete", "create"],
                    "before": {"engine": "postgres", "password": "hunter2", "tags": {"a": "1"}},
                    "after": {"engine": "mysql", "password": "hunter3", "tags": {"a": "2"}},
                    "after_unknown": {"id": true, "endpoint": true},
                    "before_sensitive": {"password": true},
                    "after_sensitive": {"password": true},
                    "replace_paths": [["engine"]]
                },
                "action_reason": "replace_because_cannot_update"
            }]
        });
        let p = parse_plan(plan.to_string().as_bytes(), "t").unwrap();
        let d = p.changes[0].diffs();
        let text = serde_json::to_string(&d).unwrap();
        assert!(!text.contains("hunter"), "{text}");
        let engine = d.iter().find(|x| x.path == "engine").unwrap();
        assert!(engine.forces_replacement);
        assert!(d.iter().any(|x| x.path == "password" && x.sensitive));
        assert!(d.iter().any(|x| x.path == "endpoint" && x.unknown));
        assert!(d.iter().any(|x| x.path == "tags.a"));
        assert_eq!(
            p.counts(),
            Counts {
                add: 1,
                destroy: 1,
                replace: 1,
                ..Counts::default()
            }
        );
    }
}
