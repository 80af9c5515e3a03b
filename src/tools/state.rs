//! State tools: `stacks`, `stack_resources`, `stack_resource`, `stack_outputs`,
//! `stack_history`. Each parses typed parameters, asks `iac::store` once, and renders a
//! compact answer.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{CallContext, Reply, Services, ToolError, ToolSpec, spec, structured};
use crate::iac::discovery::{self, StackRef, StateSource};
use crate::iac::history;
use crate::iac::model::{Engine, Flags, Mode, Resource, short_type};
use crate::iac::store::{LoadError, Loaded};
use crate::render::{Budget, clip, decode_cursor, encode_cursor};
use crate::toolset::Toolset;

pub const STACKS: &str = "stacks";
pub const RESOURCES: &str = "stack_resources";
pub const RESOURCE: &str = "stack_resource";
pub const OUTPUTS: &str = "stack_outputs";
pub const HISTORY: &str = "stack_history";

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;
/// Longest attribute value shown inline.
const MAX_VALUE_CHARS: usize = 160;

// ---------------------------------------------------------------------------------------------
// stacks

/// Parameters of `stacks`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StacksParams {
    /// Only stacks of this engine: terraform or pulumi.
    #[serde(default)]
    pub engine: Option<String>,
}

/// One stack in the `stacks` answer.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StackSummary {
    /// Id to pass as `stack` to the other tools.
    pub id: String,
    pub engine: Engine,
    /// Root or project directory, relative to the workspace.
    pub dir: String,
    pub backend: String,
    /// State file, relative to the workspace, when file-backed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Versions available to `stack_history`, counting the current one.
    pub versions: usize,
    pub warnings: Vec<String>,
}

/// Result of `stacks`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StacksResult {
    pub stacks: Vec<StackSummary>,
}

pub fn stacks_spec() -> ToolSpec {
    spec::<StacksParams, StacksResult>(
        STACKS,
        "List stacks",
        "Terraform/OpenTofu roots and Pulumi stacks in the workspace: backend, resource and \
         output counts, serial or last update, warnings.",
        Toolset::State,
        true,
        false,
        false,
    )
}

pub async fn stacks(
    services: &Arc<Services>,
    params: StacksParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let store = &services.state;
    let all = store.stacks();
    let wanted = params.engine.as_deref().map(str::to_ascii_lowercase);
    if let Some(w) = &wanted
        && w != "terraform"
        && w != "pulumi"
        && w != "tofu"
        && w != "opentofu"
    {
        return Err(ToolError::new(
            "stacks",
            format!("unknown engine `{w}`"),
            "pass engine: terraform or pulumi, or omit it",
        ));
    }
    let mut out = Vec::new();
    for s in all.iter().filter(|s| match wanted.as_deref() {
        None => true,
        Some("pulumi") => s.engine == Engine::Pulumi,
        Some(_) => s.engine == Engine::Terraform,
    }) {
        let mut summary = StackSummary {
            id: s.id.clone(),
            engine: s.engine,
            dir: store.display(&s.dir),
            backend: s.backend.clone(),
            state_file: None,
            resources: None,
            outputs: None,
            serial: None,
            updated: None,
            versions: 0,
            warnings: Vec::new(),
        };
        if let Some(lock) = &s.lock_file {
            summary.warnings.push(format!(
                "locked: {} exists (an operation may be running)",
                store.display(lock)
            ));
        }
        match &s.source {
            StateSource::File(path) => {
                summary.state_file = Some(store.display(path));
                summary.versions = history::versions(s).len();
                match store.load_file(path).await {
                    Ok(l) => {
                        summary.resources = Some(l.snapshot.managed_count());
                        summary.outputs = Some(l.snapshot.outputs.len());
                        summary.serial = l.snapshot.serial;
                        summary.updated = l.snapshot.updated.clone();
                        summary.warnings.extend(l.snapshot.warnings.iter().cloned());
                        let tainted = l
                            .snapshot
                            .resources
                            .iter()
                            .filter(|r| r.flags.tainted)
                            .count();
                        if tainted > 0 {
                            summary.warnings.push(format!(
                                "{tainted} tainted (will be replaced on next apply)"
                            ));
                        }
                    }
                    Err(e) => summary.warnings.push(e.to_string()),
                }
            }
            StateSource::Cli { argv, .. } => {
                summary
                    .warnings
                    .push(format!("read on demand through `{}`", argv.join(" ")));
            }
            StateSource::Missing { why } => summary.warnings.push(why.clone()),
        }
        out.push(summary);
        if ctx.cancel.is_cancelled() {
            break;
        }
    }
    let mut budget = Budget::new(ctx.budget);
    let mut text = String::new();
    budget.push(
        &mut text,
        &format!(
            "{} stack{}",
            out.len(),
            if out.len() == 1 { "" } else { "s" }
        ),
    );
    let mut shown = 0;
    for s in &out {
        let mut line = format!("{}  {}  {}", s.id, s.engine.name(), s.backend);
        if let Some(n) = s.resources {
            line.push_str(&format!("  {n} resources"));
        }
        if let Some(n) = s.outputs {
            line.push_str(&format!("  {n} outputs"));
        }
        if let Some(serial) = s.serial {
            line.push_str(&format!("  serial {serial}"));
        }
        if let Some(u) = &s.updated {
            line.push_str(&format!("  updated {u}"));
        }
        if s.versions > 1 {
            line.push_str(&format!("  {} versions", s.versions));
        }
        for w in &s.warnings {
            line.push_str(&format!("\n  ! {}", clip(w, 240)));
        }
        if !budget.push(&mut text, &line) {
            break;
        }
        shown += 1;
    }
    if shown < out.len() {
        text.push_str(&format!(
            "… {} more; filter with engine\n",
            out.len() - shown
        ));
    }
    if out.is_empty() {
        text.push_str("No Terraform roots (*.tf, terraform.tfstate) or Pulumi projects (Pulumi.yaml) found; declare stacks with [[stack]] in fathom.toml\n");
    }
    Ok(Reply {
        text,
        structured: structured(&StacksResult { stacks: out }),
    })
}

// ---------------------------------------------------------------------------------------------
// shared helpers

fn resolve_stack<'a>(
    all: &'a [StackRef],
    query: &str,
    tool: &str,
) -> Result<&'a StackRef, ToolError> {
    match discovery::find(all, query) {
        Ok(s) => Ok(s),
        Err(candidates) if candidates.len() > 1 => Err(ToolError::new(
            format!("{tool}: stack `{}` is ambiguous", clip(query, 80)),
            format!(
                "it matches {}",
                candidates
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "pass the full id",
        )),
        Err(_) => {
            let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).take(20).collect();
            Err(ToolError::new(
                format!("{tool}: no stack `{}`", clip(query, 80)),
                if ids.is_empty() {
                    "the workspace has no stacks".to_string()
                } else {
                    format!("known stacks: {}", ids.join(", "))
                },
                "call `stacks` for ids",
            ))
        }
    }
}

fn load_error(tool: &str, stack: &str, e: LoadError) -> ToolError {
    let next = match &e {
        LoadError::Missing { .. } => {
            "declare the stack in fathom.toml ([[stack]] with read = \"cli\"), or apply it so local state exists"
        }
        LoadError::State(crate::iac::read::StateError::TooLarge { .. }) => {
            "raise state.max_bytes in fathom.toml if this state is expected to be this large"
        }
        LoadError::State(crate::iac::read::StateError::Encrypted { .. }) => {
            "read it through the CLI: [[stack]] with read = \"cli\""
        }
        LoadError::State(_) => {
            "check the file (a partial write or a newer engine?), or read it through the CLI"
        }
        LoadError::Outside { .. } => "keep state files inside the workspace",
        LoadError::Cli { .. } | LoadError::Exec(_) => {
            "run the command yourself in that directory to see the full error; check credentials and backend access"
        }
    };
    ToolError::new(format!("{tool} `{stack}`"), e.to_string(), next)
}

async fn load(
    services: &Arc<Services>,
    tool: &str,
    stack: &str,
    ctx: &CallContext,
) -> Result<(StackRef, Arc<Loaded>), ToolError> {
    let all = services.state.stacks();
    let s = resolve_stack(&all, stack, tool)?.clone();
    let loaded = services
        .state
        .load(&s, &ctx.cancel)
        .await
        .map_err(|e| load_error(tool, &s.id, e))?;
    Ok((s, loaded))
}

fn glob(pattern: &str, what: &str, tool: &str) -> Result<globset::GlobMatcher, ToolError> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| {
            ToolError::new(
                format!("{tool}: invalid {what} glob `{}`", clip(pattern, 80)),
                e.kind().to_string(),
                "use `*` and `?`, e.g. aws_db_* or module.vpc.*",
            )
        })
}

fn flags_text(r: &Resource) -> String {
    let mut names = r.flags.names();
    if r.mode == Mode::Data {
        names.insert(0, "data".into());
    }
    if r.mode == Mode::Component {
        names.insert(0, "component".into());
    }
    if names.is_empty() {
        String::new()
    } else {
        format!("  [{}]", names.join(", "))
    }
}

fn fingerprint(parts: &[&str]) -> String {
    hex::encode(&Sha256::digest(parts.join("\u{1f}").as_bytes())[..6])
}

// ---------------------------------------------------------------------------------------------
// stack_resources

/// Parameters of `stack_resources`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourcesParams {
    /// Stack id from `stacks` (a unique suffix such as `dev` works).
    pub stack: String,
    /// Type glob, e.g. `aws_db_*` or `aws:s3*`.
    #[serde(default, rename = "type")]
    pub rtype: Option<String>,
    /// Address or name glob, e.g. `module.db.*` or `*payments*`.
    #[serde(default)]
    pub address: Option<String>,
    /// Terraform module address (`module.vpc`) or Pulumi parent name; includes nested modules.
    #[serde(default)]
    pub module: Option<String>,
    /// Only resources with this flag: protected, retain-on-delete, tainted, pending-delete, pending, external.
    #[serde(default)]
    pub flag: Option<String>,
    /// Most resources to list (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` from the previous answer.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// A type and how many resources of it matched.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TypeCount {
    #[serde(rename = "type")]
    pub rtype: String,
    pub count: usize,
}

/// One resource line.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ResourceLine {
    /// Terraform address or Pulumi URN: pass it to `stack_resource`.
    pub address: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub mode: Mode,
    pub flags: Flags,
}

/// Result of `stack_resources`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ResourcesResult {
    pub stack: String,
    /// Resources in the stack.
    pub total: usize,
    /// Resources matching the filters.
    pub matched: usize,
    /// Matching resources by type, most common first.
    pub by_type: Vec<TypeCount>,
    pub resources: Vec<ResourceLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub fn resources_spec() -> ToolSpec {
    spec::<ResourcesParams, ResourcesResult>(
        RESOURCES,
        "List stack resources",
        "Resources of a stack: counts by type, then one line each (address, id, flags). \
         Filter by type/address glob, module, flag; page with next_cursor.",
        Toolset::State,
        true,
        false,
        false,
    )
}

#[derive(Debug, Serialize, Deserialize)]
struct ResourcesCursor {
    o: usize,
    q: String,
}

pub async fn resources(
    services: &Arc<Services>,
    p: ResourcesParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let (stack, loaded) = load(services, RESOURCES, &p.stack, ctx).await?;
    let snap = &loaded.snapshot;
    let type_glob = p
        .rtype
        .as_deref()
        .map(|g| glob(g, "type", RESOURCES))
        .transpose()?;
    let addr_glob = p
        .address
        .as_deref()
        .map(|g| glob(g, "address", RESOURCES))
        .transpose()?;
    if let Some(f) = &p.flag
        && !Flags::KNOWN.contains(&f.as_str())
        && !matches!(
            f.as_str(),
            "protect" | "deposed" | "retain_on_delete" | "pending_delete"
        )
    {
        return Err(ToolError::new(
            format!("{RESOURCES}: unknown flag `{}`", clip(f, 40)),
            format!("flags are {}", Flags::KNOWN.join(", ")),
            "pass one of those, or omit flag",
        ));
    }
    let q = fingerprint(&[
        &stack.id,
        p.rtype.as_deref().unwrap_or(""),
        p.address.as_deref().unwrap_or(""),
        p.module.as_deref().unwrap_or(""),
        p.flag.as_deref().unwrap_or(""),
    ]);
    let offset = match &p.cursor {
        None => 0,
        Some(c) => {
            let cur: ResourcesCursor = decode_cursor(c).ok_or_else(|| {
                ToolError::new(
                    RESOURCES,
                    "the cursor is not one this tool issued",
                    "pass next_cursor as returned, or drop cursor",
                )
            })?;
            if cur.q != q {
                return Err(ToolError::new(
                    RESOURCES,
                    "the cursor belongs to a different stack or filter",
                    "repeat the same stack and filters with this cursor, or drop cursor",
                ));
            }
            cur.o
        }
    };
    let wants_infra_only = p.rtype.is_none();
    // States have few distinct types: decide each type once, then filter by index.
    let type_ok: Option<Vec<bool>> = type_glob
        .as_ref()
        .map(|g| snap.type_names.iter().map(|t| g.is_match(t)).collect());
    let matched: Vec<&Resource> = snap
        .resources
        .iter()
        .filter(|r| !(wants_infra_only && matches!(r.mode, Mode::Stack | Mode::Provider)))
        .filter(|r| {
            type_ok
                .as_ref()
                .is_none_or(|ok| ok.get(r.type_ix as usize).copied().unwrap_or(false))
        })
        .filter(|r| {
            addr_glob.as_ref().is_none_or(|g| {
                g.is_match(&r.address) || g.is_match(r.label()) || g.is_match(&r.name)
            })
        })
        .filter(|r| match &p.module {
            None => true,
            Some(m) => {
                r.module
                    .as_deref()
                    .is_some_and(|rm| rm == m || rm.starts_with(&format!("{m}.")))
                    || r.parent
                        .as_deref()
                        .is_some_and(|parent| parent == m || parent.ends_with(&format!("::{m}")))
            }
        })
        .filter(|r| p.flag.as_deref().is_none_or(|f| r.flags.has(f)))
        .collect();
    let total = snap.managed_count();
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in &matched {
        *counts.entry(r.rtype.as_str()).or_default() += 1;
    }
    let mut by_type: Vec<TypeCount> = counts
        .into_iter()
        .map(|(t, c)| TypeCount {
            rtype: t.to_string(),
            count: c,
        })
        .collect();
    by_type.sort_by(|a, b| b.count.cmp(&a.count).then(a.rtype.cmp(&b.rtype)));

    let limit = p.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize;
    let mut budget = Budget::new(ctx.budget);
    budget.reserve(300);
    let mut text = String::new();
    let filtered =
        p.rtype.is_some() || p.address.is_some() || p.module.is_some() || p.flag.is_some();
    let header = if filtered {
        format!(
            "{}: {} of {} resources match",
            stack.id,
            matched.len(),
            total
        )
    } else {
        format!("{}: {} resources", stack.id, matched.len())
    };
    budget.push(&mut text, &header);
    if offset == 0 && !by_type.is_empty() {
        let shown: Vec<String> = by_type
            .iter()
            .take(12)
            .map(|t| format!("{} {}", short_type(&t.rtype), t.count))
            .collect();
        let more = if by_type.len() > 12 {
            format!(", … {} more types", by_type.len() - 12)
        } else {
            String::new()
        };
        budget.push(&mut text, &format!("by type: {}{more}", shown.join(", ")));
    }
    let mut lines = Vec::new();
    let mut next = None;
    for (i, r) in matched.iter().enumerate().skip(offset) {
        if lines.len() == limit {
            next = Some(i);
            break;
        }
        let line = format!(
            "{}{}{}",
            r.label(),
            r.id()
                .map(|id| format!("  {}", clip(id, 100)))
                .unwrap_or_default(),
            flags_text(r)
        );
        if !budget.push(&mut text, &line) {
            next = Some(i);
            break;
        }
        lines.push(ResourceLine {
            address: r.address.clone(),
            rtype: r.rtype.clone(),
            name: r.name.clone(),
            id: r.id().map(str::to_string),
            mode: r.mode,
            flags: r.flags.clone(),
        });
    }
    let next_cursor = next.map(|o| encode_cursor(&ResourcesCursor { o, q: q.clone() }));
    if let Some(c) = &next_cursor {
        text.push_str(&format!(
            "… {} more; next_cursor: {c} (or narrow with type/address/module/flag)\n",
            matched.len() - next.unwrap_or(0)
        ));
    }
    if matched.is_empty() && filtered {
        text.push_str(
            "no resource matches; globs match the whole type/address (use * at either end)\n",
        );
    }
    Ok(Reply {
        text,
        structured: structured(&ResourcesResult {
            stack: stack.id.clone(),
            total,
            matched: matched.len(),
            by_type,
            resources: lines,
            next_cursor,
        }),
    })
}

// ---------------------------------------------------------------------------------------------
// stack_resource

/// Parameters of `stack_resource`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceParams {
    /// Stack id from `stacks`.
    pub stack: String,
    /// Terraform address, Pulumi URN, or a unique name / `type::name`.
    pub address: String,
    /// Only attributes under this path, e.g. `tags` or `ingress[0]`.
    #[serde(default)]
    pub attribute: Option<String>,
}

/// One attribute (flattened path and value).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Attribute {
    pub path: String,
    pub value: Value,
}

/// Result of `stack_resource`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ResourceResult {
    pub stack: String,
    pub address: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub name: String,
    pub mode: Mode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub flags: Flags,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_with: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_position: Option<String>,
    /// `path:line` of the Terraform block that declares it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_at: Option<String>,
    pub dependencies: Vec<String>,
    /// Resources that depend on this one directly.
    pub dependents: Vec<String>,
    /// Everything that depends on it, directly or not (nearest first, capped at 50).
    pub transitive_dependents: Vec<String>,
    pub transitive_dependents_count: usize,
    /// Pulumi children.
    pub children: Vec<String>,
    /// Attributes with secrets masked, as far as the output budget allows.
    pub attributes: Vec<Attribute>,
    pub attributes_total: usize,
}

pub fn resource_spec() -> ToolSpec {
    spec::<ResourceParams, ResourceResult>(
        RESOURCE,
        "Show one resource",
        "One resource in detail: attributes (secrets masked), provider, dependencies, direct \
         and transitive dependents, flags, Pulumi parent/children.",
        Toolset::State,
        true,
        false,
        false,
    )
}

/// Flattens `v` into `(path, leaf)` pairs; empty containers are leaves.
fn flatten(v: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, child) in map {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                let already_masked = matches!(
                    child.as_str(),
                    Some(crate::iac::secrets::SECRET | crate::iac::secrets::SENSITIVE)
                );
                if crate::redact::is_secret_key(k)
                    && !child.is_null()
                    && !child.is_boolean()
                    && !already_masked
                {
                    out.push((p, Value::String(crate::redact::MASK.into())));
                } else {
                    flatten(child, &p, out);
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, child) in items.iter().enumerate() {
                flatten(child, &format!("{prefix}[{i}]"), out);
            }
        }
        leaf => out.push((
            if prefix.is_empty() {
                "(value)".into()
            } else {
                prefix.to_string()
            },
            leaf.clone(),
        )),
    }
}

fn short_value(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    clip(&s.replace('\n', "\\n"), MAX_VALUE_CHARS)
}

pub async fn resource(
    services: &Arc<Services>,
    p: ResourceParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let (stack, loaded) = load(services, RESOURCE, &p.stack, ctx).await?;
    let snap = &loaded.snapshot;
    let r = match snap.find(&p.address) {
        Ok(r) => r,
        Err(candidates) => {
            let why = if candidates.is_empty() {
                "no resource has that address, URN or name".to_string()
            } else {
                format!(
                    "it matches {} resources: {}",
                    candidates.len(),
                    candidates
                        .iter()
                        .take(8)
                        .map(|r| r.address.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(ToolError::new(
                format!("{RESOURCE} `{}` in `{}`", clip(&p.address, 120), stack.id),
                why,
                "pass a full address from stack_resources (its address filter takes globs)",
            ));
        }
    };
    let index = snap
        .resources
        .iter()
        .position(|x| std::ptr::eq(x, r))
        .unwrap_or(0);
    let addr = |i: &usize| snap.resources[*i].address.clone();
    let dependents: Vec<String> = loaded
        .graph
        .direct_dependents(index)
        .iter()
        .map(addr)
        .collect();
    let transitive = loaded.graph.transitive_dependents(index);
    let children: Vec<String> = loaded.graph.children(index).iter().map(addr).collect();

    let mut attrs = Vec::new();
    let value = r.attributes();
    let scoped = match &p.attribute {
        Some(path) => {
            let mut all = Vec::new();
            flatten(&value, "", &mut all);
            all.retain(|(k, _)| {
                k == path
                    || k.starts_with(&format!("{path}."))
                    || k.starts_with(&format!("{path}["))
            });
            all
        }
        None => {
            flatten(&value, "", &mut attrs);
            std::mem::take(&mut attrs)
        }
    };
    let attributes_total = scoped.len();

    let mut budget = Budget::new(ctx.budget);
    budget.reserve(200);
    let mut text = String::new();
    let mut head = vec![format!("{}  ({} in {})", r.address, r.rtype, stack.id)];
    if let Some(id) = r.id() {
        head.push(format!("id: {id}"));
    }
    let flags = r.flags.names();
    if !flags.is_empty() {
        head.push(format!("flags: {}", flags.join(", ")));
    }
    if let Some(pv) = &r.provider {
        head.push(format!("provider: {pv}"));
    }
    if let Some(m) = &r.module {
        head.push(format!("module: {m}"));
    }
    if let Some(parent) = &r.parent {
        head.push(format!("parent: {parent}"));
    }
    if let Some(d) = &r.deleted_with {
        head.push(format!("deleted with: {d}"));
    }
    if let Some(sp) = &r.source_position {
        head.push(format!("source: {sp}"));
    }
    let declared_at = if stack.engine == Engine::Terraform {
        crate::iac::source::SourceIndex::build(&stack.dir, services.workspace.root())
            .find(&r.address)
            .cloned()
    } else {
        None
    };
    if let Some(d) = &declared_at {
        let guard = if d.prevent_destroy {
            " (lifecycle prevent_destroy)"
        } else {
            ""
        };
        head.push(format!("declared at {}{guard}", d.location()));
    }
    let list = |v: &[String]| -> String {
        let shown: Vec<&str> = v.iter().take(10).map(String::as_str).collect();
        if v.len() > 10 {
            format!("{} … {} more", shown.join(", "), v.len() - 10)
        } else {
            shown.join(", ")
        }
    };
    head.push(format!(
        "depends on ({}): {}",
        r.dependencies.len(),
        if r.dependencies.is_empty() {
            "-".into()
        } else {
            list(&r.dependencies)
        }
    ));
    head.push(format!(
        "dependents: {} direct{}, {} transitive",
        dependents.len(),
        if dependents.is_empty() {
            String::new()
        } else {
            format!(" ({})", list(&dependents))
        },
        transitive.len()
    ));
    if !children.is_empty() {
        head.push(format!(
            "children ({}): {}",
            children.len(),
            list(&children)
        ));
    }
    for line in head {
        budget.push(&mut text, &line);
    }
    let scope_note = p
        .attribute
        .as_deref()
        .map(|a| format!(" under `{a}`"))
        .unwrap_or_default();
    budget.push(
        &mut text,
        &format!("attributes{scope_note} ({attributes_total}):"),
    );
    let mut shown = Vec::new();
    for (path, v) in &scoped {
        if !budget.push(&mut text, &format!("  {path} = {}", short_value(v))) {
            break;
        }
        shown.push(Attribute {
            path: path.clone(),
            value: match v {
                Value::String(s) => Value::String(clip(s, MAX_VALUE_CHARS * 4)),
                other => other.clone(),
            },
        });
    }
    if shown.len() < scoped.len() {
        text.push_str(&format!(
            "  … {} more attributes; pass attribute: \"<path>\" to see a subtree\n",
            scoped.len() - shown.len()
        ));
    }
    let transitive_names: Vec<String> = transitive.iter().take(50).map(addr).collect();
    Ok(Reply {
        text,
        structured: structured(&ResourceResult {
            stack: stack.id.clone(),
            address: r.address.clone(),
            rtype: r.rtype.clone(),
            name: r.name.clone(),
            mode: r.mode,
            id: r.id().map(str::to_string),
            provider: r.provider.clone(),
            module: r.module.clone(),
            parent: r.parent.clone(),
            flags: r.flags.clone(),
            deleted_with: r.deleted_with.clone(),
            source_position: r.source_position.clone(),
            declared_at: declared_at.map(|d| d.location()),
            dependencies: r.dependencies.clone(),
            dependents,
            transitive_dependents: transitive_names,
            transitive_dependents_count: transitive.len(),
            children,
            attributes: shown,
            attributes_total,
        }),
    })
}

// ---------------------------------------------------------------------------------------------
// stack_outputs

/// Parameters of `stack_outputs`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputsParams {
    /// Stack id from `stacks`.
    pub stack: String,
}

/// One output.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Output {
    pub name: String,
    /// The value; `[sensitive]` or `[secret]` when the engine marks it.
    pub value: Value,
    pub sensitive: bool,
}

/// Result of `stack_outputs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OutputsResult {
    pub stack: String,
    pub outputs: Vec<Output>,
}

pub fn outputs_spec() -> ToolSpec {
    spec::<OutputsParams, OutputsResult>(
        OUTPUTS,
        "Show stack outputs",
        "Outputs of a stack; sensitive and secret values masked.",
        Toolset::State,
        true,
        false,
        false,
    )
}

pub async fn outputs(
    services: &Arc<Services>,
    p: OutputsParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let (stack, loaded) = load(services, OUTPUTS, &p.stack, ctx).await?;
    let mut budget = Budget::new(ctx.budget);
    budget.reserve(120);
    let outs = &loaded.snapshot.outputs;
    let mut text = String::new();
    budget.push(&mut text, &format!("{}: {} outputs", stack.id, outs.len()));
    let mut shown = Vec::new();
    for o in outs {
        let mut value = o.value();
        let already_masked = matches!(
            value.as_str(),
            Some(crate::iac::secrets::SECRET | crate::iac::secrets::SENSITIVE)
        );
        if crate::redact::is_secret_key(&o.name) && !already_masked && !value.is_null() {
            value = Value::String(crate::redact::MASK.into());
        }
        let line = format!("{} = {}", o.name, short_value(&value));
        if !budget.push(&mut text, &line) {
            text.push_str(&format!("… {} more outputs\n", outs.len() - shown.len()));
            break;
        }
        shown.push(Output {
            name: o.name.clone(),
            value,
            sensitive: o.sensitive,
        });
    }
    Ok(Reply {
        text,
        structured: structured(&OutputsResult {
            stack: stack.id.clone(),
            outputs: shown,
        }),
    })
}

// ---------------------------------------------------------------------------------------------
// stack_history

/// Parameters of `stack_history`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// Stack id from `stacks`.
    pub stack: String,
    /// Older version to compare: `-1` (default: the one before `to`), `-2`, …
    #[serde(default)]
    pub from: Option<String>,
    /// Newer version to compare (default `current`).
    #[serde(default)]
    pub to: Option<String>,
}

/// One available version.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VersionInfo {
    pub id: String,
    /// state, backup, history or .bak
    pub kind: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<usize>,
}

/// A resource whose attributes or flags changed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangedResource {
    pub address: String,
    /// Attribute paths that differ (at most 20).
    pub paths: Vec<String>,
    /// Flags set (`+tainted`) or cleared (`-protected`).
    pub flags: Vec<String>,
}

/// Result of `stack_history`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HistoryResult {
    pub stack: String,
    pub versions: Vec<VersionInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Added resources (as many as fit the output budget; see `added_count`).
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<ChangedResource>,
    pub added_count: usize,
    pub removed_count: usize,
    pub changed_count: usize,
}

pub fn history_spec() -> ToolSpec {
    spec::<HistoryParams, HistoryResult>(
        HISTORY,
        "Compare stack versions",
        "Versions of a stack's state (backups, Pulumi history) and a resource-level diff \
         between two: added, removed, changed attribute paths.",
        Toolset::State,
        true,
        false,
        false,
    )
}

pub async fn history(
    services: &Arc<Services>,
    p: HistoryParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let all = services.state.stacks();
    let stack = resolve_stack(&all, &p.stack, HISTORY)?.clone();
    let versions = history::versions(&stack);
    if versions.is_empty() {
        return Err(ToolError::new(
            format!("{HISTORY} `{}`", stack.id),
            "its state is not a file fathom can see, so there is no history",
            "stack_history works for local Terraform state and Pulumi file backends",
        ));
    }
    let store = &services.state;
    let mut infos = Vec::new();
    for v in &versions {
        let (serial, resources, updated) = match store.load_file(&v.path).await {
            Ok(l) => (
                l.snapshot.serial,
                Some(l.snapshot.managed_count()),
                l.snapshot.updated.clone(),
            ),
            Err(_) => (None, None, None),
        };
        infos.push(VersionInfo {
            id: v.id.clone(),
            kind: v.kind.to_string(),
            file: store.display(&v.path),
            time: updated.or_else(|| v.time.clone()),
            serial,
            resources,
        });
    }
    let pick = |id: &str| versions.iter().position(|v| v.id == id);
    let to_id = p.to.clone().unwrap_or_else(|| "current".into());
    let to_i = pick(&to_id).ok_or_else(|| unknown_version(&stack.id, &to_id, &versions))?;
    let from_i = match &p.from {
        Some(f) => pick(f).ok_or_else(|| unknown_version(&stack.id, f, &versions))?,
        None => to_i + 1,
    };
    let mut budget = Budget::new(ctx.budget);
    budget.reserve(200);
    let mut text = String::new();
    budget.push(
        &mut text,
        &format!("{}: {} versions", stack.id, versions.len()),
    );
    for v in &infos {
        let mut line = format!("  {}  {}  {}", v.id, v.kind, v.file);
        if let Some(t) = &v.time {
            line.push_str(&format!("  {t}"));
        }
        if let Some(s) = v.serial {
            line.push_str(&format!("  serial {s}"));
        }
        if let Some(n) = v.resources {
            line.push_str(&format!("  {n} resources"));
        }
        budget.push(&mut text, &line);
    }
    let mut result = HistoryResult {
        stack: stack.id.clone(),
        versions: infos,
        from: None,
        to: None,
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
        added_count: 0,
        removed_count: 0,
        changed_count: 0,
    };
    if from_i >= versions.len() {
        text.push_str("no earlier version to compare with\n");
        return Ok(Reply {
            text,
            structured: structured(&result),
        });
    }
    let (from_v, to_v) = (&versions[from_i], &versions[to_i]);
    let old = store
        .load_file(&from_v.path)
        .await
        .map_err(|e| load_error(HISTORY, &stack.id, e))?;
    let new = store
        .load_file(&to_v.path)
        .await
        .map_err(|e| load_error(HISTORY, &stack.id, e))?;
    let d = history::diff(&old.snapshot, &new.snapshot);
    budget.push(
        &mut text,
        &format!(
            "{} → {}: {} added, {} removed, {} changed",
            from_v.id,
            to_v.id,
            d.added.len(),
            d.removed.len(),
            d.changed.len()
        ),
    );
    result.added_count = d.added.len();
    result.removed_count = d.removed.len();
    result.changed_count = d.changed.len();
    let mut complete = true;
    for a in d.added {
        if complete && budget.push(&mut text, &format!("+ {a}")) {
            result.added.push(a);
        } else {
            complete = false;
        }
    }
    for r in d.removed {
        if complete && budget.push(&mut text, &format!("- {r}")) {
            result.removed.push(r);
        } else {
            complete = false;
        }
    }
    for c in d.changed {
        let mut what = c.paths.join(", ");
        if !c.flags.is_empty() {
            if !what.is_empty() {
                what.push_str("; ");
            }
            what.push_str(&format!("flags {}", c.flags.join(" ")));
        }
        if complete && budget.push(&mut text, &format!("~ {}: {}", c.address, clip(&what, 300))) {
            result.changed.push(ChangedResource {
                address: c.address,
                paths: c.paths,
                flags: c.flags,
            });
        } else {
            complete = false;
        }
    }
    if !complete {
        text.push_str("… more changes than fit the output budget; use stack_resources on the newer version's addresses to dig in\n");
    }
    result.from = Some(from_v.id.clone());
    result.to = Some(to_v.id.clone());
    Ok(Reply {
        text,
        structured: structured(&result),
    })
}

fn unknown_version(stack: &str, id: &str, versions: &[history::Version]) -> ToolError {
    ToolError::new(
        format!("{HISTORY} `{stack}`: no version `{}`", clip(id, 40)),
        format!(
            "versions are {}",
            versions
                .iter()
                .map(|v| v.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "pass one of those ids as from/to",
    )
}
