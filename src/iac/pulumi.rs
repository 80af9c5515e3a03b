//! Pulumi state: the file-backend stack file (`{version, checkpoint: {latest}}`), the older
//! unversioned checkpoint (`{target, latest}`) and `pulumi stack export` deployments
//! (`{version, deployment}`), converted to the engine-neutral model.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::model::{Engine, Flags, Mode, OutputValue, Resource, Sensitivity, Snapshot, Source};
use super::read::{AnyState, PULUMI_VERSION, StateError};

/// Features of v4 checkpoints this reader knows.
const KNOWN_FEATURES: &[&str] = &["refreshBeforeUpdate", "viewOf"];

#[derive(Debug, Deserialize)]
pub(crate) struct RawCheckpoint<'a> {
    #[serde(borrow)]
    latest: Option<RawDeployment<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawDeployment<'a> {
    manifest: Option<Manifest>,
    #[serde(default, borrow, deserialize_with = "super::read::null_default")]
    resources: Vec<RawResource<'a>>,
    #[serde(default, borrow, deserialize_with = "super::read::null_default")]
    pending_operations: Vec<PendingOperation<'a>>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    time: Option<String>,
    version: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PendingOperation<'a> {
    #[serde(borrow)]
    resource: Option<RawResource<'a>>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawResource<'a> {
    urn: String,
    #[serde(default, deserialize_with = "super::read::null_default")]
    custom: bool,
    #[serde(default, deserialize_with = "super::read::null_default")]
    delete: bool,
    id: Option<String>,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(borrow)]
    outputs: Option<&'a RawValue>,
    parent: Option<String>,
    #[serde(default, deserialize_with = "super::read::null_default")]
    protect: bool,
    #[serde(
        default,
        rename = "retainOnDelete",
        deserialize_with = "super::read::null_default"
    )]
    retain_on_delete: bool,
    #[serde(default, deserialize_with = "super::read::null_default")]
    external: bool,
    #[serde(default, deserialize_with = "super::read::null_default")]
    taint: bool,
    #[serde(default, deserialize_with = "super::read::null_default")]
    dependencies: Vec<String>,
    provider: Option<String>,
    #[serde(rename = "deletedWith")]
    deleted_with: Option<String>,
    #[serde(rename = "sourcePosition")]
    source_position: Option<String>,
    #[serde(
        default,
        rename = "propertyDependencies",
        deserialize_with = "super::read::null_default"
    )]
    property_dependencies: BTreeMap<String, Option<Vec<String>>>,
}

/// The last `::`-separated part of a URN.
pub fn urn_name(urn: &str) -> &str {
    urn.rsplit("::").next().unwrap_or(urn)
}

/// `project/stack` from `urn:pulumi:stack::project::…`.
pub fn urn_stack_project(urn: &str) -> Option<(String, String)> {
    let rest = urn.strip_prefix("urn:pulumi:")?;
    let mut parts = rest.split("::");
    let stack = parts.next()?.to_string();
    let project = parts.next()?.to_string();
    Some((project, stack))
}

fn to_resource(r: RawResource<'_>, src: &Source) -> Resource {
    let mode = if r.rtype == "pulumi:pulumi:Stack" {
        Mode::Stack
    } else if r.rtype.starts_with("pulumi:providers:") {
        Mode::Provider
    } else if r.custom {
        Mode::Managed
    } else {
        Mode::Component
    };
    let mut dependencies = r.dependencies;
    for deps in r.property_dependencies.into_values() {
        for d in deps.unwrap_or_default() {
            if !dependencies.contains(&d) {
                dependencies.push(d);
            }
        }
    }
    // Provider references are `urn::id`; keep the URN.
    let provider = r.provider.map(|p| match p.rsplit_once("::") {
        Some((urn, id)) if !id.contains(':') => urn.to_string(),
        _ => p,
    });
    Resource {
        name: urn_name(&r.urn).to_string(),
        address: r.urn,
        mode,
        rtype: r.rtype,
        id_cell: Resource::known_id(r.id.filter(|s| !s.is_empty())),
        provider,
        module: None,
        parent: r.parent,
        dependencies,
        flags: Flags {
            protected: r.protect,
            retain_on_delete: r.retain_on_delete,
            tainted: r.taint,
            pending_delete: r.delete,
            pending_operation: None,
            external: r.external,
        },
        deleted_with: r.deleted_with,
        source_position: r.source_position,
        raw_attributes: src.raw(r.outputs),
        type_ix: 0,
        sensitivity: Sensitivity::None,
    }
}

pub(crate) fn convert(
    any: AnyState<'_>,
    src: &Source,
    display: &str,
) -> Result<Snapshot, StateError> {
    let version = any.version;
    if let Some(v) = version
        && v > PULUMI_VERSION
    {
        return Err(StateError::FutureVersion {
            path: display.to_string(),
            what: "Pulumi checkpoint",
            found: v,
            supported: PULUMI_VERSION,
        });
    }
    let (deployment, form) = if let Some(cp) = any.checkpoint {
        (cp.latest, "pulumi checkpoint")
    } else if let Some(d) = any.deployment {
        (Some(d), "pulumi stack export")
    } else {
        (any.latest, "pulumi checkpoint")
    };
    let format = match version {
        Some(v) => format!("{form} v{v}"),
        None => format!("{form} v0"),
    };
    let mut warnings = Vec::new();
    if let Some(features) = &any.features {
        let unknown: Vec<&str> = features
            .iter()
            .map(String::as_str)
            .filter(|f| !KNOWN_FEATURES.contains(f))
            .collect();
        if !unknown.is_empty() {
            warnings.push(format!(
                "written with checkpoint features fathom does not know ({}); shown as read",
                unknown.join(", ")
            ));
        }
    }
    let Some(deployment) = deployment else {
        // A stack that was created but never updated has no `latest`.
        return Ok(Snapshot {
            engine: Engine::Pulumi,
            format,
            serial: None,
            lineage: None,
            engine_version: None,
            updated: None,
            resources: Vec::new(),
            outputs: Vec::new(),
            warnings,
            type_names: Vec::new(),
        });
    };
    let mut resources: Vec<Resource> = deployment
        .resources
        .into_iter()
        .map(|r| to_resource(r, src))
        .collect();
    for op in deployment.pending_operations {
        let kind = op.kind.unwrap_or_else(|| "unknown".into());
        let Some(raw) = op.resource else { continue };
        match resources.iter_mut().find(|r| r.address == raw.urn) {
            Some(existing) => existing.flags.pending_operation = Some(kind),
            None => {
                let mut r = to_resource(raw, src);
                r.flags.pending_operation = Some(kind);
                resources.push(r);
            }
        }
    }
    let pending = resources
        .iter()
        .filter(|r| r.flags.pending_operation.is_some())
        .count();
    if pending > 0 {
        warnings.push(format!(
            "{pending} pending operation{} from an interrupted update: the cloud may differ from this state; `pulumi refresh` reconciles",
            if pending == 1 { "" } else { "s" }
        ));
    }
    let outputs = stack_outputs(&resources, src);
    let (updated, engine_version) = match deployment.manifest {
        Some(m) => (
            m.time.filter(|t| !t.starts_with("0001-")),
            m.version.filter(|v| !v.is_empty()),
        ),
        None => (None, None),
    };
    Ok(Snapshot {
        engine: Engine::Pulumi,
        format,
        serial: None,
        lineage: None,
        engine_version,
        updated,
        resources,
        outputs,
        warnings,
        type_names: Vec::new(),
    })
}

/// Stack outputs live on the `pulumi:pulumi:Stack` resource.
fn stack_outputs(resources: &[Resource], src: &Source) -> Vec<OutputValue> {
    #[derive(Deserialize)]
    struct Outputs<'a>(#[serde(borrow)] BTreeMap<String, &'a RawValue>);
    let Some(stack) = resources.iter().find(|r| r.mode == Mode::Stack) else {
        return Vec::new();
    };
    let Some(raw) = &stack.raw_attributes else {
        return Vec::new();
    };
    // The outputs object is a slice of the document, so its values are too.
    match serde_json::from_str::<Outputs>(raw.get()) {
        Ok(Outputs(map)) => map
            .into_iter()
            .map(|(name, value)| OutputValue {
                name,
                raw: src.raw(Some(value)),
                sensitive: false,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urn_parts() {
        let urn = "urn:pulumi:dev::payments::aws:s3/bucket:Bucket::invoices";
        assert_eq!(urn_name(urn), "invoices");
        assert_eq!(
            urn_stack_project(urn),
            Some(("payments".to_string(), "dev".to_string()))
        );
    }
}
