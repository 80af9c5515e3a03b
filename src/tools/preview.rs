//! Preview tools: `preview` (run or load a plan; never applies) and `preview_change` (one
//! change in detail). The answer leads with the counts and the verdict, then the riskiest
//! changes first.

use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CallContext, Reply, Services, ToolError, ToolSpec, spec, structured};
use crate::iac::discovery::{self, StackRef};
use crate::iac::plan::{Action, AttributeDiff, Counts};
use crate::iac::preview::{self, PlanRun, Preview, PreviewError};
use crate::iac::risk::{self, Level, Reason};
use crate::render::{Budget, clip};
use crate::toolset::Toolset;

pub const PREVIEW: &str = "preview";
pub const CHANGE: &str = "preview_change";

/// Parameters of `preview`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewParams {
    /// Stack id from `stacks` (needed to run a plan or read a binary plan file).
    #[serde(default)]
    pub stack: Option<String>,
    /// Only these resources: Terraform addresses (-target) or Pulumi URNs (--target).
    #[serde(default)]
    pub targets: Vec<String>,
    /// Refresh state from the cloud first (default: true for Terraform, false for Pulumi).
    #[serde(default)]
    pub refresh: Option<bool>,
    /// A saved plan in the workspace: `show -json` output, or a binary plan (read via the CLI).
    #[serde(default)]
    pub plan_file: Option<String>,
}

/// One change line.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangeLine {
    pub address: String,
    pub action: Action,
    pub risk: Level,
    #[serde(rename = "type")]
    pub rtype: String,
}

/// Result of `preview`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviewResult {
    /// Pass to `preview_change` for details.
    pub preview_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    pub source: String,
    pub counts: Counts,
    pub risk: Level,
    pub reasons: Vec<Reason>,
    /// Changes, riskiest first (as many as fit the output budget).
    pub changes: Vec<ChangeLine>,
    pub changes_total: usize,
    /// Resources changed outside the engine since the last apply.
    pub drift: usize,
    pub warnings: Vec<String>,
}

pub fn preview_spec() -> ToolSpec {
    spec::<PreviewParams, PreviewResult>(
        PREVIEW,
        "Preview a change",
        "Run terraform/tofu plan (never applies) or load a saved plan: counts, a risk verdict \
         (safe/review/dangerous) with reasons, changes riskiest first.",
        Toolset::Preview,
        true,
        false,
        true,
    )
}

/// Parameters of `preview_change`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeParams {
    /// `preview_id` from `preview`.
    pub preview_id: String,
    /// Resource address of the change.
    pub address: String,
}

/// Result of `preview_change`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangeResult {
    pub preview_id: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<String>,
    pub action: Action,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub replace_paths: Vec<String>,
    pub risk: Level,
    pub reasons: Vec<Reason>,
    /// `path:line` of the declaring block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Attribute differences (sensitive values masked), as many as fit.
    pub attributes: Vec<AttributeDiff>,
    pub attributes_total: usize,
}

pub fn change_spec() -> ToolSpec {
    spec::<ChangeParams, ChangeResult>(
        CHANGE,
        "Show one planned change",
        "One change of a preview in detail: attribute diffs before → after, unknowns, masked \
         secrets, what forces replacement, risk reasons.",
        Toolset::Preview,
        true,
        false,
        false,
    )
}

fn resolve(services: &Arc<Services>, id: &str) -> Result<StackRef, ToolError> {
    let all = services.state.stacks();
    match discovery::find(&all, id) {
        Ok(s) => Ok(s.clone()),
        Err(c) if c.len() > 1 => Err(ToolError::new(
            format!("{PREVIEW}: stack `{}` is ambiguous", clip(id, 80)),
            format!(
                "it matches {}",
                c.iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "pass the full id from `stacks`",
        )),
        Err(_) => Err(ToolError::new(
            format!("{PREVIEW}: no stack `{}`", clip(id, 80)),
            format!(
                "known stacks: {}",
                all.iter()
                    .map(|s| s.id.as_str())
                    .take(20)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "call `stacks` for ids",
        )),
    }
}

fn program_for<'a>(services: &'a Services, stack: &StackRef) -> Result<&'a str, ToolError> {
    let cfg = &services.config.preview;
    match stack.cli {
        "terraform" => Ok(cfg.terraform_program.as_str()),
        "tofu" => Ok(cfg.tofu_program.as_str()),
        "pulumi" => Ok(cfg.pulumi_program.as_str()),
        other => Err(ToolError::new(
            format!("{PREVIEW} `{}`", stack.id),
            format!("running a `{other}` preview is not supported"),
            "save the engine's preview JSON in the workspace and pass it as plan_file",
        )),
    }
}

/// The Pulumi stack name of a stack: `project/stack` ids end with it; configured stacks
/// carry it in their `--stack` argument.
fn pulumi_stack_name(stack: &StackRef) -> Option<String> {
    if let crate::iac::discovery::StateSource::Cli { argv, .. } = &stack.source
        && let Some(i) = argv.iter().position(|a| a == "--stack")
    {
        return argv.get(i + 1).cloned();
    }
    stack.id.rsplit_once('/').map(|(_, s)| s.to_string())
}

fn preview_error(stack: &str, e: PreviewError) -> ToolError {
    let next = match &e {
        PreviewError::Exec(crate::exec::ExecError::NotFound { .. }) => {
            "install the CLI or set preview.terraform_program / tofu_program / pulumi_program in fathom.toml"
        }
        PreviewError::Failed { diagnostics, .. }
            if diagnostics
                .iter()
                .any(|d| d.contains("cannot be destroyed")) =>
        {
            "a lifecycle prevent_destroy guard refused this plan: the change would destroy a protected resource; change the configuration instead"
        }
        PreviewError::Failed { .. } => {
            "fix the reported problem (run the same plan yourself to see all of it), then preview again"
        }
        PreviewError::TimedOut { .. } => {
            "narrow with targets, pass refresh: false, or raise preview.timeout_secs"
        }
        PreviewError::Cancelled => "nothing to do",
        PreviewError::Plan(_) => {
            "pass `terraform show -json <planfile>` output, or a binary plan with its stack"
        }
        PreviewError::Exec(_) | PreviewError::Other(_) => "check the stack directory and the CLI",
    };
    ToolError::new(format!("{PREVIEW} `{stack}`"), e.to_string(), next)
}

/// How many resources depend on an address, from the stack's current state if readable.
async fn dependents_counter(
    services: &Arc<Services>,
    stack: Option<&StackRef>,
    ctx: &CallContext,
) -> impl Fn(&str) -> Option<usize> + use<> {
    let loaded = match stack {
        Some(s) => services.state.load(s, &ctx.cancel).await.ok(),
        None => None,
    };
    move |address: &str| {
        let l = loaded.as_ref()?;
        let i = l
            .snapshot
            .resources
            .iter()
            .position(|r| r.address == address)?;
        Some(l.graph.transitive_dependents(i).len())
    }
}

pub async fn run(
    services: &Arc<Services>,
    p: PreviewParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let stack = match &p.stack {
        Some(id) => Some(resolve(services, id)?),
        None => None,
    };
    let cfg = &services.config.preview;
    let timeout = Duration::from_secs(cfg.timeout_secs);
    let label = stack
        .as_ref()
        .map_or_else(|| "plan file".to_string(), |s| s.id.clone());
    let (plan, source) = match &p.plan_file {
        Some(f) => {
            let path = services.workspace.resolve(f).map_err(|e| {
                ToolError::new(
                    format!("{PREVIEW}: plan_file `{}`", clip(f, 120)),
                    e.to_string(),
                    "pass a path inside the workspace",
                )
            })?;
            let cli = match &stack {
                Some(s) if s.cli != "pulumi" => Some((program_for(services, s)?, s.dir.as_path())),
                _ => None,
            };
            let plan = preview::load_plan_file(&path, f, cli, timeout, &ctx.cancel)
                .await
                .map_err(|e| preview_error(&label, e))?;
            (plan, format!("plan file {f}"))
        }
        None => {
            let Some(s) = &stack else {
                return Err(ToolError::new(
                    PREVIEW,
                    "neither `stack` nor `plan_file` was given",
                    "pass a stack id from `stacks` to run a plan, or a saved plan as plan_file",
                ));
            };
            let program = program_for(services, s)?;
            let id = services.previews.next_id();
            if s.cli == "pulumi" {
                let stack_name = pulumi_stack_name(s);
                let run = preview::PulumiRun {
                    program,
                    dir: &s.dir,
                    stack: stack_name.as_deref(),
                    event_log: services
                        .workspace
                        .root()
                        .join(".fathom/plans")
                        .join(format!("{id}.events.json")),
                    targets: &p.targets,
                    refresh: p.refresh.unwrap_or(false),
                    timeout,
                    interrupt_grace: Duration::from_secs(cfg.interrupt_grace_secs),
                };
                let progress = ctx.progress.clone();
                let on_progress = move |m: String| {
                    if let Some(pr) = &progress {
                        pr(m);
                    }
                };
                let doc = preview::pulumi_preview(&run, &ctx.cancel, &on_progress)
                    .await
                    .map_err(|e| preview_error(&s.id, e))?;
                let plan = crate::iac::pulumi_preview::parse(&doc, "pulumi preview --json")
                    .map_err(|e| preview_error(&s.id, e.into()))?;
                (
                    plan,
                    format!(
                        "pulumi preview{}",
                        if run.refresh { " --refresh" } else { "" }
                    ),
                )
            } else {
                let run = PlanRun {
                    program,
                    dir: &s.dir,
                    plan_file: services
                        .workspace
                        .root()
                        .join(".fathom/plans")
                        .join(format!("{id}.tfplan")),
                    targets: &p.targets,
                    refresh: p.refresh.unwrap_or(true),
                    lock: cfg.lock,
                    timeout,
                    interrupt_grace: Duration::from_secs(cfg.interrupt_grace_secs),
                };
                let progress = ctx.progress.clone();
                let mut on_progress = move |m: String| {
                    if let Some(pr) = &progress {
                        pr(m);
                    }
                };
                let json = preview::terraform_plan(&run, &ctx.cancel, &mut on_progress)
                    .await
                    .map_err(|e| preview_error(&s.id, e))?;
                let plan = crate::iac::plan::parse_plan(&json, &format!("{program} show -json"))
                    .map_err(|e| preview_error(&s.id, e.into()))?;
                let name = std::path::Path::new(program)
                    .file_name()
                    .map_or_else(|| program.to_string(), |n| n.to_string_lossy().into_owned());
                (
                    plan,
                    format!(
                        "{name} plan{}",
                        if run.refresh { "" } else { " -refresh=false" }
                    ),
                )
            }
        }
    };
    let rules = risk::Rules::new(
        &services.config.risk.stateful_types,
        services.config.risk.many_deletes,
        services.config.risk.many_dependents,
    )
    .map_err(|e| ToolError::new(PREVIEW, e, "fix risk.stateful_types in fathom.toml"))?;
    let mut plan = plan;
    if let Some(s) = stack.as_ref().filter(|s| s.cli != "pulumi") {
        let index = crate::iac::source::SourceIndex::build(&s.dir, services.workspace.root());
        plan.link_sources(&index);
    }
    let counter = dependents_counter(services, stack.as_ref(), ctx).await;
    let verdict = risk::assess(&plan, &rules, &counter);
    let id = services.previews.next_id();
    let stored = services.previews.put(Preview {
        id: id.clone(),
        stack: stack.as_ref().map(|s| s.id.clone()),
        source,
        plan,
        verdict,
    });
    Ok(render(&stored, ctx.budget))
}

fn headline(counts: &Counts, verdict: &crate::iac::risk::Verdict) -> String {
    let mut destroy = format!("{} to destroy", counts.destroy);
    if counts.replace > 0 {
        destroy.push_str(&format!(" ({} replace)", counts.replace));
    }
    let mut parts = vec![
        format!("{} to add", counts.add),
        format!("{} to change", counts.change),
        destroy,
    ];
    for (n, what) in [
        (counts.import, "import"),
        (counts.forget, "forget"),
        (counts.moved, "move"),
    ] {
        if n > 0 {
            parts.push(format!("{n} to {what}"));
        }
    }
    let mut line = format!("Plan: {} — {}", parts.join(", "), verdict.level.upper());
    let mut seen = std::collections::HashSet::new();
    let top: Vec<String> = verdict
        .reasons
        .iter()
        .filter(|r| r.level == verdict.level && verdict.level != Level::Safe)
        .filter(|r| r.address == "(plan)" || seen.insert(r.address.as_str()))
        .take(2)
        .map(|r| {
            if r.address == "(plan)" {
                r.detail.clone()
            } else {
                format!("{}: {}", r.address, r.detail)
            }
        })
        .collect();
    if !top.is_empty() {
        line.push_str(&format!(": {}", top.join("; ")));
    }
    line
}

fn render(p: &Preview, budget: usize) -> Reply {
    let counts = p.plan.counts();
    let mut b = Budget::new(budget);
    b.reserve(300);
    let mut text = String::new();
    b.push(&mut text, &headline(&counts, &p.verdict));
    let changed: Vec<usize> = {
        let mut idx: Vec<usize> = (0..p.plan.changes.len())
            .filter(|&i| !matches!(p.plan.changes[i].action, Action::NoOp | Action::Read))
            .collect();
        idx.sort_by(|&a, &b| {
            p.verdict.change_levels[b]
                .cmp(&p.verdict.change_levels[a])
                .then(severity(p.plan.changes[b].action).cmp(&severity(p.plan.changes[a].action)))
                .then(p.plan.changes[a].address.cmp(&p.plan.changes[b].address))
        });
        idx
    };
    b.push(
        &mut text,
        &format!(
            "preview_id: {}  ({}; {} changes{})",
            p.id,
            p.source,
            changed.len(),
            p.plan
                .engine_version
                .as_deref()
                .map(|v| format!("; terraform {v}"))
                .unwrap_or_default()
        ),
    );
    for w in &p.plan.warnings {
        b.push(&mut text, &format!("! {}", clip(w, 300)));
    }
    if !p.plan.drift.is_empty() {
        b.push(
            &mut text,
            &format!(
                "! {} resource(s) changed outside terraform since the last apply",
                p.plan.drift.len()
            ),
        );
    }
    let mut reasons_shown = Vec::new();
    if !p.verdict.reasons.is_empty() {
        b.push(&mut text, "reasons:");
        for r in &p.verdict.reasons {
            if !b.push(
                &mut text,
                &format!(
                    "  {} [{}] {}: {}",
                    r.level.upper(),
                    r.rule,
                    r.address,
                    clip(&r.detail, 240)
                ),
            ) {
                break;
            }
            reasons_shown.push(r.clone());
        }
    }
    let mut lines = Vec::new();
    if !changed.is_empty() {
        b.push(&mut text, "changes (riskiest first):");
        for &i in &changed {
            let c = &p.plan.changes[i];
            let level = p.verdict.change_levels[i];
            let mark = if level == Level::Safe {
                String::new()
            } else {
                format!("  {}", level.upper())
            };
            let moved = c
                .previous_address
                .as_deref()
                .filter(|pa| *pa != c.address)
                .map(|pa| format!(" (from {pa})"))
                .unwrap_or_default();
            if lines.len() == MAX_CHANGE_LINES
                || !b.push(
                    &mut text,
                    &format!("  {}  {}{moved}{mark}", c.action.verb(), c.address),
                )
            {
                text.push_str(&format!(
                    "  … {} more changes; narrow with targets or ask preview_change for one\n",
                    changed.len() - lines.len()
                ));
                break;
            }
            lines.push(ChangeLine {
                address: c.address.clone(),
                action: c.action,
                risk: level,
                rtype: c.rtype.clone(),
            });
        }
    } else {
        b.push(
            &mut text,
            "No changes: the infrastructure matches the configuration.",
        );
    }
    let outputs: Vec<String> = p
        .plan
        .outputs
        .iter()
        .filter(|o| !matches!(o.action, Action::NoOp))
        .map(|o| format!("{} ({})", o.name, o.action.verb()))
        .collect();
    if !outputs.is_empty() {
        b.push(
            &mut text,
            &format!("outputs: {}", clip(&outputs.join(", "), 400)),
        );
    }
    let result = PreviewResult {
        preview_id: p.id.clone(),
        stack: p.stack.clone(),
        source: p.source.clone(),
        counts,
        risk: p.verdict.level,
        reasons: reasons_shown,
        changes: lines,
        changes_total: changed.len(),
        drift: p.plan.drift.len(),
        warnings: p.plan.warnings.clone(),
    };
    Reply {
        text,
        structured: structured(&result),
    }
}

/// Most change lines listed; riskiest first, so the rest are the least interesting, and the
/// structured copy of the list stays small too.
const MAX_CHANGE_LINES: usize = 100;

/// Order of actions by how much they can break, for sorting within a risk level.
fn severity(a: Action) -> u8 {
    match a {
        Action::Delete => 9,
        Action::ReplaceDeleteFirst => 8,
        Action::ReplaceCreateFirst => 7,
        Action::ForgetReplace => 6,
        Action::Forget => 5,
        Action::Update => 4,
        Action::Move => 3,
        Action::Import => 2,
        Action::Create => 1,
        Action::Read | Action::NoOp => 0,
    }
}

pub async fn change(
    services: &Arc<Services>,
    p: ChangeParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let Some(prev) = services.previews.get(&p.preview_id) else {
        let ids = services.previews.ids();
        return Err(ToolError::new(
            format!("{CHANGE}: no preview `{}`", clip(&p.preview_id, 40)),
            if ids.is_empty() {
                "no preview has been made by this server yet (previews live in memory)".to_string()
            } else {
                format!("previews held: {}", ids.join(", "))
            },
            "run `preview` first and pass its preview_id",
        ));
    };
    let Some(i) = prev.plan.changes.iter().position(|c| {
        c.address == p.address || c.previous_address.as_deref() == Some(p.address.as_str())
    }) else {
        let similar: Vec<&str> = prev
            .plan
            .changes
            .iter()
            .filter(|c| c.address.contains(&p.address) || p.address.contains(&c.address))
            .map(|c| c.address.as_str())
            .take(8)
            .collect();
        return Err(ToolError::new(
            format!(
                "{CHANGE}: `{}` is not in preview {}",
                clip(&p.address, 120),
                prev.id
            ),
            if similar.is_empty() {
                "no change has that address".to_string()
            } else {
                format!("close matches: {}", similar.join(", "))
            },
            "pass an address from the preview's change list",
        ));
    };
    let c = &prev.plan.changes[i];
    let level = prev.verdict.change_levels[i];
    let reasons: Vec<Reason> = prev
        .verdict
        .reasons
        .iter()
        .filter(|r| r.address == c.address)
        .cloned()
        .collect();
    let diffs = c.diffs();
    let mut b = Budget::new(ctx.budget);
    b.reserve(200);
    let mut text = String::new();
    b.push(
        &mut text,
        &format!("{}: {}  {}", c.address, c.action.verb(), level.upper()),
    );
    if let Some(pa) = c.previous_address.as_deref().filter(|pa| *pa != c.address) {
        b.push(&mut text, &format!("moved from {pa}"));
    }
    if let Some(src) = &c.source {
        let guard = if c.prevent_destroy {
            " (lifecycle prevent_destroy)"
        } else {
            ""
        };
        b.push(&mut text, &format!("declared at {src}{guard}"));
    }
    if let Some(r) = &c.reason {
        b.push(&mut text, &format!("reason: {r}"));
    }
    if !c.replace_paths.is_empty() {
        b.push(
            &mut text,
            &format!("forces replacement: {}", c.replace_paths.join(", ")),
        );
    }
    for r in &reasons {
        b.push(
            &mut text,
            &format!("{} [{}] {}", r.level.upper(), r.rule, r.detail),
        );
    }
    b.push(&mut text, &format!("attributes ({}):", diffs.len()));
    let mut shown = Vec::new();
    for d in &diffs {
        let before = d.before.as_ref().map(short).unwrap_or_else(|| "-".into());
        let after = if d.unknown {
            "(known after apply)".to_string()
        } else {
            d.after.as_ref().map(short).unwrap_or_else(|| "-".into())
        };
        let mark = if d.forces_replacement {
            "  # forces replacement"
        } else {
            ""
        };
        if !b.push(
            &mut text,
            &format!("  {}: {} → {}{mark}", d.path, before, after),
        ) {
            text.push_str(&format!(
                "  … {} more attributes\n",
                diffs.len() - shown.len()
            ));
            break;
        }
        shown.push(d.clone());
    }
    Ok(Reply {
        text,
        structured: structured(&ChangeResult {
            preview_id: prev.id.clone(),
            address: c.address.clone(),
            previous_address: c.previous_address.clone(),
            action: c.action,
            rtype: c.rtype.clone(),
            reason: c.reason.clone(),
            replace_paths: c.replace_paths.clone(),
            risk: level,
            reasons,
            source: c.source.clone(),
            attributes: shown,
            attributes_total: diffs.len(),
        }),
    })
}

fn short(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    clip(&s, 120)
}
