//! Terraform and OpenTofu state: the raw v4 file and the `show -json` state form, converted
//! to the engine-neutral model.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::model::{Engine, Flags, Mode, OutputValue, Resource, Sensitivity, Snapshot, Source};
use super::read::{AnyState, StateError, TERRAFORM_STATE_VERSION};

/// A v4 output.
#[derive(Debug, Deserialize)]
pub(crate) struct RawOutput<'a> {
    #[serde(borrow)]
    value: Option<&'a RawValue>,
    #[serde(default)]
    sensitive: bool,
}

/// A v4 resource block (all its instances).
#[derive(Debug, Deserialize)]
pub(crate) struct RawResource<'a> {
    module: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(rename = "type")]
    rtype: String,
    name: String,
    provider: Option<String>,
    #[serde(default, borrow, deserialize_with = "super::read::null_default")]
    instances: Vec<RawInstance<'a>>,
}

/// One instance. Read through a map because real state files written by older Terraform
/// versions repeat keys (two `dependencies` arrays); like Terraform itself, the last one wins.
#[derive(Debug)]
struct RawInstance<'a> {
    index_key: Option<Value>,
    status: Option<String>,
    deposed: Option<String>,
    attributes: Option<&'a RawValue>,
    attributes_flat: Option<&'a RawValue>,
    sensitive_attributes: Option<&'a RawValue>,
    dependencies: Vec<String>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawInstance<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = RawInstance<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a resource instance object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawInstance<'a>, A::Error> {
                let mut out = RawInstance {
                    index_key: None,
                    status: None,
                    deposed: None,
                    attributes: None,
                    attributes_flat: None,
                    sensitive_attributes: None,
                    dependencies: Vec::new(),
                };
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "index_key" => out.index_key = map.next_value()?,
                        "status" => out.status = map.next_value()?,
                        "deposed" => out.deposed = map.next_value()?,
                        "attributes" => out.attributes = Some(map.next_value::<&'de RawValue>()?),
                        "attributes_flat" => {
                            out.attributes_flat = Some(map.next_value::<&'de RawValue>()?)
                        }
                        "sensitive_attributes" => {
                            out.sensitive_attributes = Some(map.next_value::<&'de RawValue>()?)
                        }
                        "dependencies" => {
                            out.dependencies =
                                map.next_value::<Option<Vec<String>>>()?.unwrap_or_default()
                        }
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// `show -json` `values`.
#[derive(Debug, Deserialize)]
pub(crate) struct ShowValues<'a> {
    #[serde(default, borrow)]
    outputs: BTreeMap<String, ShowOutput<'a>>,
    #[serde(borrow)]
    root_module: Option<ShowModule<'a>>,
}

#[derive(Debug, Deserialize)]
struct ShowOutput<'a> {
    #[serde(default)]
    sensitive: bool,
    #[serde(borrow)]
    value: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct ShowModule<'a> {
    address: Option<String>,
    #[serde(default, borrow, deserialize_with = "super::read::null_default")]
    resources: Vec<ShowResource<'a>>,
    #[serde(default, borrow, deserialize_with = "super::read::null_default")]
    child_modules: Vec<ShowModule<'a>>,
}

#[derive(Debug, Deserialize)]
struct ShowResource<'a> {
    address: String,
    mode: Option<String>,
    #[serde(rename = "type")]
    rtype: String,
    name: String,
    provider_name: Option<String>,
    #[serde(borrow)]
    values: Option<&'a RawValue>,
    #[serde(borrow)]
    sensitive_values: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "super::read::null_default")]
    depends_on: Vec<String>,
    #[serde(default)]
    tainted: bool,
    deposed_key: Option<String>,
}

/// Instance key as it appears in an address: `[0]` or `["a"]`.
fn index_suffix(key: &Option<Value>) -> String {
    match key {
        Some(Value::Number(n)) => format!("[{n}]"),
        Some(Value::String(s)) => format!("[{}]", Value::String(s.clone())),
        _ => String::new(),
    }
}

fn mode_of(mode: Option<&str>) -> Mode {
    if mode == Some("data") {
        Mode::Data
    } else {
        Mode::Managed
    }
}

/// Shortens `provider["registry.terraform.io/hashicorp/aws"]` to `hashicorp/aws`.
fn short_provider(p: &str) -> String {
    let inner = p
        .trim_start_matches("provider[")
        .trim_end_matches(']')
        .trim_matches('"');
    let alias = p.rsplit_once("].").map(|(_, a)| a);
    let base = inner
        .split('"')
        .next()
        .unwrap_or(inner)
        .trim_start_matches("registry.terraform.io/")
        .trim_start_matches("registry.opentofu.org/")
        .to_string();
    match alias {
        Some(a) => format!("{base}.{a}"),
        None => base,
    }
}

pub(crate) fn convert_v4(
    any: AnyState<'_>,
    src: &Source,
    display: &str,
) -> Result<Snapshot, StateError> {
    let version = any.version.unwrap_or(0);
    if version > TERRAFORM_STATE_VERSION {
        return Err(StateError::FutureVersion {
            path: display.to_string(),
            what: "Terraform state",
            found: version,
            supported: TERRAFORM_STATE_VERSION,
        });
    }
    if version < TERRAFORM_STATE_VERSION {
        return Err(StateError::Unrecognized {
            path: display.to_string(),
            detail: format!(
                "Terraform state version {version} predates Terraform 0.12; run `terraform refresh` with a current Terraform to upgrade it"
            ),
        });
    }
    let blocks = any.resources.unwrap_or_default();
    let mut resources = Vec::with_capacity(blocks.iter().map(|b| b.instances.len()).sum());
    for block in blocks {
        let mode = mode_of(block.mode.as_deref());
        let prefix = match (&block.module, mode) {
            (Some(m), Mode::Data) => format!("{m}.data."),
            (Some(m), _) => format!("{m}."),
            (None, Mode::Data) => "data.".to_string(),
            (None, _) => String::new(),
        };
        for inst in block.instances {
            let mut address = format!(
                "{prefix}{}.{}{}",
                block.rtype,
                block.name,
                index_suffix(&inst.index_key)
            );
            if let Some(d) = &inst.deposed {
                address.push_str(&format!(" (deposed {d})"));
            }
            let attrs = src
                .raw(inst.attributes)
                .or_else(|| src.raw(inst.attributes_flat));
            let sensitivity = match src.raw(inst.sensitive_attributes) {
                Some(raw) if raw.get() != "[]" => Sensitivity::Paths(raw),
                _ => Sensitivity::None,
            };
            resources.push(Resource {
                id_cell: std::sync::OnceLock::new(),
                address,
                mode,
                rtype: block.rtype.clone(),
                name: block.name.clone(),
                provider: block.provider.as_deref().map(short_provider),
                module: block.module.clone(),
                parent: None,
                dependencies: inst.dependencies,
                flags: Flags {
                    tainted: inst.status.as_deref() == Some("tainted"),
                    pending_delete: inst.deposed.is_some(),
                    ..Flags::default()
                },
                deleted_with: None,
                source_position: None,
                raw_attributes: attrs,
                type_ix: 0,
                sensitivity,
            });
        }
    }
    let outputs = outputs_of(
        src,
        any.outputs
            .unwrap_or_default()
            .into_iter()
            .map(|(name, o)| (name, o.value, o.sensitive)),
    );
    Ok(Snapshot {
        engine: Engine::Terraform,
        format: format!("terraform state v{version}"),
        serial: any.serial,
        lineage: any.lineage,
        engine_version: any.terraform_version,
        updated: None,
        resources,
        outputs,
        warnings: Vec::new(),
        type_names: Vec::new(),
    })
}

/// Outputs from (name, raw value, sensitive) triples, shared by both Terraform forms.
fn outputs_of<'a>(
    src: &Source,
    items: impl Iterator<Item = (String, Option<&'a RawValue>, bool)>,
) -> Vec<OutputValue> {
    items
        .map(|(name, value, sensitive)| OutputValue {
            name,
            raw: src.raw(value),
            sensitive,
        })
        .collect()
}

pub(crate) fn convert_show(
    any: AnyState<'_>,
    src: &Source,
    display: &str,
) -> Result<Snapshot, StateError> {
    let format = any.format_version.as_deref().unwrap_or("?");
    let major = format
        .split('.')
        .next()
        .and_then(|m| m.parse::<u64>().ok())
        .unwrap_or(0);
    if major > 1 {
        return Err(StateError::FutureVersion {
            path: display.to_string(),
            what: "`show -json` format",
            found: major,
            supported: 1,
        });
    }
    let mut resources = Vec::new();
    let mut outputs = Vec::new();
    // `show -json` of an empty state has no `values`.
    if let Some(values) = any.values {
        if let Some(root) = values.root_module {
            collect_show(root, src, &mut resources);
        }
        outputs = outputs_of(
            src,
            values
                .outputs
                .into_iter()
                .map(|(name, o)| (name, o.value, o.sensitive)),
        );
    }
    Ok(Snapshot {
        engine: Engine::Terraform,
        format: format!("terraform show -json (format {format})"),
        serial: None,
        lineage: None,
        engine_version: any.terraform_version,
        updated: None,
        resources,
        outputs,
        warnings: Vec::new(),
        type_names: Vec::new(),
    })
}

fn collect_show(module: ShowModule<'_>, src: &Source, out: &mut Vec<Resource>) {
    let module_address = module.address.clone();
    for r in module.resources {
        let mut address = r.address;
        if let Some(d) = &r.deposed_key {
            address.push_str(&format!(" (deposed {d})"));
        }
        out.push(Resource {
            id_cell: std::sync::OnceLock::new(),
            address,
            mode: mode_of(r.mode.as_deref()),
            rtype: r.rtype,
            name: r.name,
            provider: r.provider_name.map(|p| short_provider(&p)),
            module: module_address.clone(),
            parent: None,
            dependencies: r.depends_on,
            flags: Flags {
                tainted: r.tainted,
                pending_delete: r.deposed_key.is_some(),
                ..Flags::default()
            },
            deleted_with: None,
            source_position: None,
            raw_attributes: src.raw(r.values),
            type_ix: 0,
            sensitivity: match src.raw(r.sensitive_values) {
                Some(m) => Sensitivity::Mirror(m),
                None => Sensitivity::None,
            },
        });
    }
    for child in module.child_modules {
        collect_show(child, src, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_are_shortened() {
        assert_eq!(
            short_provider("provider[\"registry.terraform.io/hashicorp/aws\"]"),
            "hashicorp/aws"
        );
        assert_eq!(
            short_provider("provider[\"registry.terraform.io/hashicorp/aws\"].west"),
            "hashicorp/aws.west"
        );
        assert_eq!(
            short_provider("registry.terraform.io/hashicorp/null"),
            "hashicorp/null"
        );
    }
}
