//! The engine-neutral model every state reader produces: resources with their address (a
//! Terraform address or a Pulumi URN), flags, dependencies and lazily parsed attributes.
//!
//! Attributes stay as raw JSON until someone asks for one resource, so listing a 100 MB state
//! costs one scan; secret masking happens when they are parsed ([`Resource::attributes`]).

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::secrets;

/// A slice of the state document (raw JSON of one value), shared with the document instead
/// of copied: a 100 MB state stays 100 MB in memory, plus the index over it.
#[derive(Clone)]
pub struct Raw {
    src: Arc<String>,
    start: usize,
    end: usize,
}

impl Raw {
    /// The JSON text of the value.
    pub fn get(&self) -> &str {
        &self.src[self.start..self.end]
    }
}

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Raw({} bytes)", self.end - self.start)
    }
}

/// The document raw values are cut from.
pub(crate) struct Source {
    text: Arc<String>,
}

impl Source {
    pub(crate) fn new(text: Arc<String>) -> Self {
        Self { text }
    }

    /// The document text, to deserialise with borrowed raw values.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// A [`Raw`] for a value borrowed from this document (`null` becomes `None`).
    pub(crate) fn raw(&self, value: Option<&RawValue>) -> Option<Raw> {
        let value = value?;
        let text = value.get();
        if text == "null" {
            return None;
        }
        let base = self.text.as_ptr() as usize;
        let start = (text.as_ptr() as usize).checked_sub(base)?;
        let end = start + text.len();
        if end > self.text.len() {
            return None;
        }
        Some(Raw {
            src: self.text.clone(),
            start,
            end,
        })
    }
}

/// Which engine wrote a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Terraform,
    Pulumi,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Terraform => "terraform",
            Engine::Pulumi => "pulumi",
        }
    }
}

/// What kind of thing a state entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A managed resource (Terraform `resource`, Pulumi custom resource).
    Managed,
    /// A Terraform data source.
    Data,
    /// A Pulumi component resource (groups children, has no cloud object).
    Component,
    /// A Pulumi provider resource.
    Provider,
    /// The Pulumi stack resource itself.
    Stack,
}

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// How a resource's secret attributes are marked by its engine.
#[derive(Debug, Clone, Default)]
pub enum Sensitivity {
    /// Nothing marked (Pulumi marks secrets inline).
    #[default]
    None,
    /// Terraform state v4 `sensitive_attributes` (raw; parsed into paths when attributes are
    /// read, so a large state costs nothing for them up front).
    Paths(Raw),
    /// Terraform `show -json` `sensitive_values`: a mirror with `true` at sensitive leaves.
    Mirror(Raw),
}

/// Flags that matter before a change: protection, taint, interrupted operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Flags {
    /// Pulumi `protect`.
    #[serde(skip_serializing_if = "is_false")]
    pub protected: bool,
    /// Pulumi `retainOnDelete`.
    #[serde(skip_serializing_if = "is_false")]
    pub retain_on_delete: bool,
    /// Terraform `status: tainted` (will be replaced).
    #[serde(skip_serializing_if = "is_false")]
    pub tainted: bool,
    /// Pulumi `delete: true`, or a Terraform deposed object: awaiting deletion.
    #[serde(skip_serializing_if = "is_false")]
    pub pending_delete: bool,
    /// An operation that started and never finished (Pulumi pending operation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_operation: Option<String>,
    /// Pulumi `external`: read, not managed.
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Flags {
    /// Short names of the flags that are set, for one-line rendering.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.protected {
            out.push("protected".to_string());
        }
        if self.retain_on_delete {
            out.push("retain-on-delete".to_string());
        }
        if self.tainted {
            out.push("tainted".to_string());
        }
        if self.pending_delete {
            out.push("pending-delete".to_string());
        }
        if let Some(op) = &self.pending_operation {
            out.push(format!("pending:{op}"));
        }
        if self.external {
            out.push("external".to_string());
        }
        out
    }

    /// Whether the named flag (as accepted by the `flag` filter) is set.
    pub fn has(&self, name: &str) -> bool {
        match name {
            "protected" | "protect" => self.protected,
            "retain-on-delete" | "retain_on_delete" | "retainondelete" => self.retain_on_delete,
            "tainted" => self.tainted,
            "pending-delete" | "pending_delete" | "deposed" => self.pending_delete,
            "pending" | "pending-operation" | "pending_operation" => {
                self.pending_operation.is_some()
            }
            "external" => self.external,
            _ => false,
        }
    }

    /// Flag names the `flag` filter accepts.
    pub const KNOWN: &'static [&'static str] = &[
        "protected",
        "retain-on-delete",
        "tainted",
        "pending-delete",
        "pending",
        "external",
    ];
}

/// One resource (or data source, component, provider) in a state.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Terraform address (`module.db.aws_db_instance.main[0]`) or Pulumi URN.
    pub address: String,
    pub mode: Mode,
    /// Resource type (`aws_db_instance`, `aws:rds/instance:Instance`).
    pub rtype: String,
    /// Logical name.
    pub name: String,
    /// Cloud id, when the engine records it; read lazily from the attributes for Terraform
    /// (see [`Resource::id`]), so listing a large state never parses every attribute object.
    pub id_cell: std::sync::OnceLock<Option<String>>,
    /// Provider address or URN.
    pub provider: Option<String>,
    /// Terraform module address (`module.db`), if not the root module.
    pub module: Option<String>,
    /// Pulumi parent URN.
    pub parent: Option<String>,
    /// Addresses (Terraform, without instance keys) or URNs this resource depends on.
    pub dependencies: Vec<String>,
    pub flags: Flags,
    /// Pulumi `deletedWith`.
    pub deleted_with: Option<String>,
    /// Pulumi `sourcePosition` (`project:///index.ts#12,5` style).
    pub source_position: Option<String>,
    /// Raw attributes (Terraform `attributes`/`values`, Pulumi `outputs`).
    pub raw_attributes: Option<Raw>,
    /// Index of `rtype` in [`Snapshot::type_names`], so filters test a type once, not per
    /// resource.
    pub type_ix: u32,
    pub sensitivity: Sensitivity,
}

impl Resource {
    /// A cell already holding `id` (Pulumi records ids outside the attributes).
    pub fn known_id(id: Option<String>) -> std::sync::OnceLock<Option<String>> {
        let cell = std::sync::OnceLock::new();
        let _ = cell.set(id);
        cell
    }

    /// The cloud id: recorded by the engine, or the `id` attribute.
    pub fn id(&self) -> Option<&str> {
        self.id_cell
            .get_or_init(|| id_attribute(self.raw_attributes.as_ref()))
            .as_deref()
    }

    /// Attributes with engine-marked secrets masked (`[secret]`, `[sensitive]`). Credential
    /// patterns are masked later, by the caller's redactor.
    pub fn attributes(&self) -> Value {
        let Some(raw) = &self.raw_attributes else {
            return Value::Null;
        };
        let mut value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        secrets::mask_pulumi_secrets(&mut value);
        match &self.sensitivity {
            Sensitivity::None => {}
            Sensitivity::Paths(raw) => {
                let parsed: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                secrets::mask_paths(&mut value, &secrets::terraform_paths(&parsed));
            }
            Sensitivity::Mirror(mirror) => {
                if let Ok(mirror) = serde_json::from_str::<Value>(mirror.get()) {
                    secrets::mask_mirror(&mut value, &mirror);
                }
            }
        }
        value
    }

    /// The address without a trailing instance key (`aws_instance.web[0]` → `aws_instance.web`).
    pub fn base_address(&self) -> &str {
        if self.address.ends_with(']')
            && let Some(i) = self.address.rfind('[')
        {
            return &self.address[..i];
        }
        &self.address
    }

    /// A short label for lists: the address for Terraform, `name (type)` for Pulumi.
    pub fn label(&self) -> String {
        if self.address.starts_with("urn:pulumi:") {
            format!("{}::{}", short_type(&self.rtype), self.name)
        } else {
            self.address.clone()
        }
    }
}

/// The `id` attribute, read without building the attribute object.
fn id_attribute(raw: Option<&Raw>) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: Option<Value>,
    }
    let parsed: IdOnly = serde_json::from_str(raw?.get()).ok()?;
    match parsed.id? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `aws:rds/instance:Instance` → `aws:rds/instance:Instance` is long; keep the last two parts
/// (`rds/instance:Instance`) unless it is already short.
pub fn short_type(t: &str) -> &str {
    match t.split_once(':') {
        Some((_, rest)) if t.len() > 40 => rest,
        _ => t,
    }
}

/// A stack output.
#[derive(Debug, Clone)]
pub struct OutputValue {
    pub name: String,
    pub raw: Option<Raw>,
    /// Marked sensitive by the engine; its value is never shown.
    pub sensitive: bool,
}

impl OutputValue {
    /// The value with secrets masked.
    pub fn value(&self) -> Value {
        if self.sensitive {
            return Value::String(secrets::SENSITIVE.into());
        }
        let Some(raw) = &self.raw else {
            return Value::Null;
        };
        let mut v: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        secrets::mask_pulumi_secrets(&mut v);
        v
    }
}

/// A parsed state: resources, outputs and metadata.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub engine: Engine,
    /// Which format was read (`terraform state v4`, `pulumi checkpoint v3`, …).
    pub format: String,
    /// Terraform serial.
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    /// Version of the engine that wrote it, when recorded.
    pub engine_version: Option<String>,
    /// Last update time, when recorded (Pulumi manifest time).
    pub updated: Option<String>,
    pub resources: Vec<Resource>,
    pub outputs: Vec<OutputValue>,
    /// Problems worth knowing that did not stop reading.
    pub warnings: Vec<String>,
    /// Distinct resource types, indexed by [`Resource::type_ix`].
    pub type_names: Vec<String>,
}

impl Snapshot {
    /// Fills `type_names` and every `type_ix` (readers call this once after parsing).
    pub(crate) fn index_types(&mut self) {
        let mut index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let mut names = Vec::new();
        for r in &mut self.resources {
            let ix = *index.entry(r.rtype.clone()).or_insert_with(|| {
                names.push(r.rtype.clone());
                (names.len() - 1) as u32
            });
            r.type_ix = ix;
        }
        self.type_names = names;
    }

    /// Resources that count as infrastructure (not the Pulumi stack or provider entries).
    pub fn managed_count(&self) -> usize {
        self.resources
            .iter()
            .filter(|r| matches!(r.mode, Mode::Managed | Mode::Data | Mode::Component))
            .count()
    }

    /// Finds a resource by exact address/URN, or by a unique shorter form
    /// (`type::name`, a Pulumi name, or a Terraform address without its instance key).
    pub fn find(&self, query: &str) -> Result<&Resource, Vec<&Resource>> {
        if let Some(r) = self.resources.iter().find(|r| r.address == query) {
            return Ok(r);
        }
        let candidates: Vec<&Resource> = self
            .resources
            .iter()
            .filter(|r| {
                r.label() == query
                    || r.name == query
                    || r.base_address() == query
                    || r.address.ends_with(&format!("::{query}"))
            })
            .collect();
        if candidates.len() == 1 {
            return Ok(candidates[0]);
        }
        Err(candidates)
    }
}
