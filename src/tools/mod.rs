//! The tool catalogue: each tool's name, description, toolset, annotations and JSON Schemas,
//! and the dispatch from a name plus JSON arguments to one typed service call.
//!
//! Tools are thin: they parse typed parameters, call one function in `code/` (later `iac/`,
//! `cloud/`), and render a compact text answer plus structured content. Cross-cutting work
//! (audit, scopes, redaction of the final answer) happens in `server/`.

pub mod cloud;
pub mod code;
pub mod preview;
pub mod state;
pub mod symbols;

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::redact::Redactor;
use crate::toolset::Toolset;
use crate::workspace::Workspace;

/// A JSON object, as used for schemas.
pub type JsonObject = Map<String, Value>;

/// Everything the tools need: built once at start-up, shared by all connections.
#[derive(Debug)]
pub struct Services {
    pub workspace: Workspace,
    pub config: Config,
    pub redactor: Redactor,
    pub state: crate::iac::store::StateStore,
    pub previews: crate::iac::preview::PreviewStore,
    pub symbols: crate::code::symbols::Symbols,
    /// Configured cloud integrations, in config order.
    pub integrations: Vec<crate::cloud::integration::Integration>,
    pub approvals: crate::cloud::approvals::ApprovalStore,
}

/// Static description of a tool, as published in `tools/list` and `tool-schemas/`.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub toolset: Toolset,
    /// Never changes anything outside fathom's own files.
    pub read_only: bool,
    /// May delete or overwrite something (needs a human's approval).
    pub destructive: bool,
    /// Reaches systems outside the workspace (cloud APIs).
    pub open_world: bool,
    pub input_schema: Arc<JsonObject>,
    pub output_schema: Arc<JsonObject>,
}

/// A successful answer: compact text for the model, structured content for programs.
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub structured: Value,
}

/// A tool failure the agent can act on: what failed, why, and what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    pub what: String,
    pub why: String,
    pub next: String,
}

impl ToolError {
    pub fn new(what: impl Into<String>, why: impl Into<String>, next: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            why: why.into(),
            next: next.into(),
        }
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}. Next: {}", self.what, self.why, self.next)
    }
}

/// Reports progress of long work to the client (a message per step).
pub type Progress = Arc<dyn Fn(String) + Send + Sync>;

/// A person's answer to "run this exact command?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Accept,
    Decline,
    Cancel,
}

/// Asks the person at the client a yes/no question; `Err` when it could not be asked.
pub type AskFn = Arc<
    dyn Fn(String) -> futures::future::BoxFuture<'static, Result<Consent, String>> + Send + Sync,
>;

/// How this call can reach a person, as the client's protocol and capabilities allow.
#[derive(Clone, Default)]
pub enum Human {
    /// The client cannot ask anyone: approvals go out of band (`fathom approve ID`).
    #[default]
    Unreachable,
    /// A session client that supports elicitation: ask now and wait for the answer.
    Ask(AskFn),
    /// A 2026-07-28 client: ask by answering "input required"; a retried call carries the
    /// echoed state and the person's answer.
    Retry {
        state: Option<String>,
        answer: Option<Consent>,
    },
}

/// A question for the person, returned instead of a result (2026-07-28 clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRequired {
    pub message: String,
    /// Echoed back on the retry; an approval id, checked against the store.
    pub state: String,
}

/// Writes an audit record of `kind` for this call (identity and call id are added);
/// `Err` means the record is not on disk and the action must not happen.
pub type AuditFn =
    Arc<dyn Fn(&'static str, Map<String, Value>) -> Result<(), String> + Send + Sync>;

/// Per-call context handed to a tool.
#[derive(Clone)]
pub struct CallContext {
    /// Cancelled when the client cancels the request or disconnects.
    pub cancel: CancellationToken,
    /// Byte budget for the text answer.
    pub budget: usize,
    /// Set when the client asked for progress notifications.
    pub progress: Option<Progress>,
    /// Who is calling (token subject or `stdio`), for approval records.
    pub identity: String,
    /// The caller holds `fathom:apply`, without which no write is even put to a person.
    pub may_apply: bool,
    /// How to reach a person for approvals.
    pub human: Human,
    /// Set by a tool that needs the person's answer before it can finish.
    pub needs_input: Arc<std::sync::Mutex<Option<InputRequired>>>,
    /// Extra audit records written before side effects.
    pub audit: AuditFn,
}

impl CallContext {
    /// A context with no client behind it (tests, benchmarks): nobody to ask, audit records
    /// dropped.
    pub fn detached(budget: usize) -> Self {
        Self {
            cancel: CancellationToken::new(),
            budget,
            progress: None,
            identity: "detached".into(),
            may_apply: false,
            human: Human::Unreachable,
            needs_input: Arc::default(),
            audit: Arc::new(|_, _| Ok(())),
        }
    }
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("budget", &self.budget)
            .finish()
    }
}

/// Every tool fathom publishes, in `tools/list` order.
pub fn catalogue() -> Vec<ToolSpec> {
    vec![
        state::stacks_spec(),
        state::resources_spec(),
        state::resource_spec(),
        state::outputs_spec(),
        state::history_spec(),
        preview::preview_spec(),
        preview::change_spec(),
        symbols::where_is_spec(),
        symbols::references_spec(),
        symbols::definition_spec(),
        symbols::outline_spec(),
        symbols::hover_spec(),
        code::search_spec(),
        cloud::integrations_spec(),
        cloud::run_spec(),
    ]
}

/// Runs tool `name`. Unknown names are the caller's concern (checked against
/// [`catalogue`] first).
pub async fn dispatch(
    services: &Arc<Services>,
    name: &str,
    args: Value,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    match name {
        code::SEARCH => code::search(services, parse(name, args)?, ctx).await,
        symbols::WHERE_IS => symbols::where_is(services, parse(name, args)?, ctx).await,
        symbols::REFERENCES => symbols::references(services, parse(name, args)?, ctx).await,
        symbols::DEFINITION => symbols::definition(services, parse(name, args)?, ctx).await,
        symbols::OUTLINE => symbols::outline(services, parse(name, args)?, ctx).await,
        symbols::HOVER => symbols::hover(services, parse(name, args)?, ctx).await,
        state::STACKS => state::stacks(services, parse(name, args)?, ctx).await,
        state::RESOURCES => state::resources(services, parse(name, args)?, ctx).await,
        state::RESOURCE => state::resource(services, parse(name, args)?, ctx).await,
        state::OUTPUTS => state::outputs(services, parse(name, args)?, ctx).await,
        state::HISTORY => state::history(services, parse(name, args)?, ctx).await,
        preview::PREVIEW => preview::run(services, parse(name, args)?, ctx).await,
        preview::CHANGE => preview::change(services, parse(name, args)?, ctx).await,
        cloud::INTEGRATIONS => cloud::integrations(services, parse(name, args)?, ctx).await,
        cloud::RUN => cloud::run(services, parse(name, args)?, ctx).await,
        other => Err(ToolError::new(
            format!("unknown tool `{other}`"),
            "no tool by that name is published",
            "call tools/list for the available tools",
        )),
    }
}

/// Deserialises arguments with the path of the offending field in the error.
fn parse<P: DeserializeOwned>(tool: &str, args: Value) -> Result<P, ToolError> {
    let args = if args.is_null() {
        Value::Object(Map::new())
    } else {
        args
    };
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        ToolError::new(
            format!("{tool}: invalid arguments"),
            format!("{}{at}", e.inner()),
            "fix the arguments to match the tool's inputSchema",
        )
    })
}

/// Builds the published spec for a tool from its parameter and result types.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spec<P: JsonSchema, R: JsonSchema>(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    toolset: Toolset,
    read_only: bool,
    destructive: bool,
    open_world: bool,
) -> ToolSpec {
    ToolSpec {
        name,
        title,
        description,
        toolset,
        read_only,
        destructive,
        open_world,
        input_schema: Arc::new(schema_of::<P>(false)),
        output_schema: Arc::new(schema_of::<R>(true)),
    }
}

/// JSON Schema (draft 2020-12, as MCP requires) of a type; for outputs, of what it serialises to.
fn schema_of<T: JsonSchema>(output: bool) -> JsonObject {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    if output {
        settings = settings.for_serialize();
    }
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut object = match serde_json::to_value(schema) {
        Ok(Value::Object(o)) => o,
        _ => Map::new(),
    };
    object.remove("title");
    // MCP takes 2020-12 as the default dialect; naming it costs every session 60 bytes a schema.
    object.remove("$schema");
    // The top-level description only restates the type name ("Parameters of `x`").
    object.remove("description");
    let mut value = Value::Object(object);
    compact_schema(&mut value, output);
    match value {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

/// Shrinks a generated schema without changing what it accepts: `oneOf` lists of string
/// constants become `enum`, integer `format` annotations go, and output schemas lose their
/// descriptions and `minimum: 0` (agents read the text answer; programs only need the shape). Every byte of
/// `tools/list` is paid for by every session.
fn compact_schema(v: &mut Value, output: bool) {
    let Value::Object(map) = v else {
        if let Value::Array(items) = v {
            items.iter_mut().for_each(|i| compact_schema(i, output));
        }
        return;
    };
    if let Some(Value::Array(variants)) = map.get("oneOf")
        && !variants.is_empty()
        && variants
            .iter()
            .all(|x| x.get("const").is_some_and(Value::is_string))
    {
        let values: Vec<Value> = variants
            .iter()
            .filter_map(|x| x.get("const").cloned())
            .collect();
        map.remove("oneOf");
        map.insert("type".into(), Value::from("string"));
        map.insert("enum".into(), Value::Array(values));
    }
    if map.get("format").and_then(Value::as_str).is_some_and(|f| {
        matches!(
            f,
            "uint" | "uint8" | "uint16" | "uint32" | "uint64" | "int32" | "int64" | "double"
        )
    }) {
        map.remove("format");
    }
    if output {
        map.remove("description");
        // Counts and positions are never negative; programs reading results need no proof.
        if map.get("minimum").is_some_and(|m| m == 0) {
            map.remove("minimum");
        }
    }
    if map.get("default").is_some_and(Value::is_null) {
        map.remove("default");
    }
    for (key, child) in map.iter_mut() {
        // Property names are data, not schema keywords: recurse into their schemas only.
        if key == "properties" || key == "$defs" {
            if let Value::Object(props) = child {
                props.values_mut().for_each(|p| compact_schema(p, output));
            }
        } else {
            compact_schema(child, output);
        }
    }
}

/// Serialises a result type for `structuredContent`.
pub(crate) fn structured<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The file written into `tool-schemas/` for one tool.
pub fn schema_document(spec: &ToolSpec) -> Value {
    serde_json::json!({
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "toolset": spec.toolset.name(),
        "requiredScope": spec.toolset.scope(),
        "annotations": {
            "readOnlyHint": spec.read_only,
            "destructiveHint": spec.destructive,
            "openWorldHint": spec.open_world,
        },
        "inputSchema": Value::Object((*spec.input_schema).clone()),
        "outputSchema": Value::Object((*spec.output_schema).clone()),
    })
}

/// `(file name, contents)` for every tool, as `fathom schemas` writes them.
pub fn schema_files() -> Vec<(String, String)> {
    catalogue()
        .iter()
        .map(|spec| {
            let text = serde_json::to_string_pretty(&schema_document(spec)).unwrap_or_default();
            (format!("{}.json", spec.name), text + "\n")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_object_schemas_and_short_description() {
        for spec in catalogue() {
            assert_eq!(spec.input_schema.get("type"), Some(&Value::from("object")));
            assert_eq!(spec.output_schema.get("type"), Some(&Value::from("object")));
            assert!(
                spec.description.len() <= 200,
                "{} description too long",
                spec.name
            );
            assert!(spec.read_only != spec.destructive, "{}", spec.name);
        }
    }

    #[test]
    fn parse_errors_name_the_field() {
        let err = parse::<code::SearchParams>(
            "code_search",
            serde_json::json!({"query": "x", "limit": "ten"}),
        )
        .unwrap_err();
        assert!(err.why.contains("`limit`"), "{err}");
        let err = parse::<code::SearchParams>("code_search", serde_json::json!({})).unwrap_err();
        assert!(err.why.contains("query"), "{err}");
    }
}
