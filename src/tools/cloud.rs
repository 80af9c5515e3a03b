//! Cloud tools: `cloud_integrations` (what is configured, and whether it works) and
//! `cloud_run` (one command through one integration: reads run, writes wait for a person).

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{CallContext, Consent, Human, InputRequired, Reply, Services, ToolError, ToolSpec};
use super::{spec, structured};
use crate::cloud::approvals::{ApprovalError, Request};
use crate::cloud::classify::{Class, Classification};
use crate::cloud::integration::{Health, Integration};
use crate::cloud::policy::{self, Decision};
use crate::cloud::run::{self, RunError};
use crate::config::Access;
use crate::render::clip;
use crate::toolset::Toolset;

/// Tool names (public API).
pub const INTEGRATIONS: &str = "cloud_integrations";
pub const RUN: &str = "cloud_run";

/// Parameters of `cloud_integrations` (none).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationsParams {}

/// One integration as listed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IntegrationInfo {
    pub name: String,
    pub cli: crate::cloud::classify::CliKind,
    pub access: Access,
    /// Pins in force, `key=value`.
    pub scope: Vec<String>,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    pub secret_reads: Vec<String>,
    pub allow_flags: Vec<String>,
    pub health: Health,
}

/// Result of `cloud_integrations`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IntegrationsResult {
    pub integrations: Vec<IntegrationInfo>,
}

/// Parameters of `cloud_run`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// Integration name, from `cloud_integrations`.
    pub integration: String,
    /// The CLI's arguments without the program name, one word each, e.g.
    /// `["ec2", "describe-instances", "--max-items", "5"]`. No shell: quoting is not needed.
    pub args: Vec<String>,
    /// Id from an "approval required" answer, once a person has approved it.
    #[serde(default)]
    pub approval_id: Option<String>,
}

/// Result of `cloud_run` (a command that ran).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunResult {
    pub integration: String,
    /// The command words, e.g. `ec2 describe-instances`.
    pub command: String,
    /// `read`, `write` or `secret_read`.
    pub class: Class,
    /// How it was allowed: `read`, `approved` (elicitation) or `approval:<id>`.
    pub allowed_by: String,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// Output beyond the integration's cap (or the answer budget) was dropped.
    pub truncated: bool,
    pub duration_ms: u64,
    /// Standard output: parsed JSON when it fits the budget, else text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

/// Published spec of `cloud_integrations`.
pub fn integrations_spec() -> ToolSpec {
    spec::<IntegrationsParams, IntegrationsResult>(
        INTEGRATIONS,
        "List cloud integrations",
        "Configured cloud CLI integrations: scope pins, access, allowed commands, health.",
        Toolset::Cloud,
        true,
        false,
        false,
    )
}

/// Published spec of `cloud_run`.
pub fn run_spec() -> ToolSpec {
    spec::<RunParams, RunResult>(
        RUN,
        "Run a scoped cloud CLI command",
        "Run aws/gcloud/az/kubectl through a named integration (argv, no shell). Reads run; \
         writes need a person's approval of the exact command.",
        Toolset::Cloud,
        false,
        true,
        true,
    )
}

/// Runs `cloud_integrations`.
pub async fn integrations(
    services: &Arc<Services>,
    _params: IntegrationsParams,
    _ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let root = services.workspace.root();
    let list: Vec<IntegrationInfo> = services
        .integrations
        .iter()
        .map(|i| IntegrationInfo {
            name: i.name().to_string(),
            cli: i.cli(),
            access: i.access(),
            scope: i.scope(),
            allow: i.config.allow.clone(),
            deny: i.config.deny.clone(),
            secret_reads: i.config.secret_reads.clone(),
            allow_flags: i.config.allow_flags.clone(),
            health: i.health(root),
        })
        .collect();
    let mut text = String::new();
    if list.is_empty() {
        text.push_str(
            "No cloud integrations configured. Add an [[integration]] to fathom.toml \
             (name, cli, access, pinned scope); see examples/cloud/fathom.toml.",
        );
    } else {
        let broken = list
            .iter()
            .filter(|i| !i.health.problems.is_empty())
            .count();
        text.push_str(&format!(
            "{} integrations ({} broken)\n",
            list.len(),
            broken
        ));
        for i in &list {
            let access = match i.access {
                Access::Read => "read-only",
                Access::Write => "write (approval)",
            };
            let allow = if i.allow.is_empty() {
                "all commands".to_string()
            } else {
                format!("allow {}", i.allow.join(", "))
            };
            let deny = if i.deny.is_empty() {
                String::new()
            } else {
                format!("; deny {}", i.deny.join(", "))
            };
            let health = if i.health.problems.is_empty() {
                "ok".to_string()
            } else {
                format!("BROKEN: {}", i.health.problems.join("; "))
            };
            text.push_str(&format!(
                "{} {} {} [{}] {allow}{deny} — {health}\n",
                i.name,
                i.cli.program(),
                access,
                i.scope.join(" "),
            ));
        }
    }
    Ok(Reply {
        text,
        structured: structured(&IntegrationsResult { integrations: list }),
    })
}

/// Runs `cloud_run`.
pub async fn run(
    services: &Arc<Services>,
    params: RunParams,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let Some(integ) = services
        .integrations
        .iter()
        .find(|i| i.name() == params.integration)
    else {
        let names: Vec<&str> = services
            .integrations
            .iter()
            .map(Integration::name)
            .collect();
        return Err(ToolError::new(
            format!(
                "cloud_run: no integration `{}`",
                clip(&params.integration, 60)
            ),
            if names.is_empty() {
                "none is configured".to_string()
            } else {
                format!("configured: {}", names.join(", "))
            },
            "call cloud_integrations, or add an [[integration]] to fathom.toml",
        ));
    };
    let args = &params.args;
    let shown = format!("{} {}", integ.cli().program(), clip(&args.join(" "), 120));
    let what = format!("cloud_run {} `{shown}`", integ.name());
    let decision = policy::decide(integ, args, &services.workspace);
    audit_decision(ctx, integ, args, &decision)?;
    match decision {
        Decision::Refuse { reason, .. } => Err(ToolError::new(
            format!("{what} refused"),
            reason,
            "nothing ran; use a command the integration allows (cloud_integrations lists them)",
        )),
        Decision::Run(c) => execute(services, integ, args, &c, "read", &what, ctx).await,
        Decision::NeedsApproval(c) if !ctx.may_apply => Err(ToolError::new(
            format!("{what} refused"),
            format!(
                "it is a {} and your token lacks the scope `{}` that writes need",
                c.class.name(),
                crate::toolset::SCOPE_APPLY
            ),
            "ask for a token with that scope; nothing ran",
        )),
        Decision::NeedsApproval(c) => {
            approve_then_run(
                services,
                integ,
                args,
                &c,
                params.approval_id.as_deref(),
                &what,
                ctx,
            )
            .await
        }
    }
}

/// The approval flow: an approval id from a person, an elicitation answered now, a
/// 2026-07-28 input request, or an out-of-band request.
async fn approve_then_run(
    services: &Arc<Services>,
    integ: &Integration,
    args: &[String],
    c: &Classification,
    approval_id: Option<&str>,
    what: &str,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let store = &services.approvals;
    if let Some(id) = approval_id {
        store
            .consume(id, integ.name(), args)
            .map_err(|e| approval_error(what, e))?;
        audit(
            ctx,
            "approval_used",
            json!({"approval": id, "integration": integ.name()}),
        )?;
        return execute(
            services,
            integ,
            args,
            c,
            &format!("approval:{id}"),
            what,
            ctx,
        )
        .await;
    }
    let new_request = || {
        store
            .request(
                integ.name(),
                args,
                c.class.name(),
                &c.why,
                integ.scope(),
                &ctx.identity,
            )
            .map_err(|e| {
                ToolError::new(
                    format!("{what} not run"),
                    format!("the approval request could not be recorded ({e})"),
                    "ask the operator to check the approvals folder; nothing ran",
                )
            })
    };
    match &ctx.human {
        Human::Ask(ask) => {
            let req = new_request()?;
            match ask(prompt(integ, &req)).await {
                Ok(consent) => {
                    decide_and_run(services, integ, args, c, &req.id, consent, what, ctx).await
                }
                // The client could not ask after all: the request stays pending for a person.
                Err(why) => Err(out_of_band(what, &req, &format!("asking failed ({why}); "))),
            }
        }
        Human::Retry {
            state: Some(id),
            answer: Some(consent),
        } => {
            let (req, _) = store.get(id).map_err(|e| approval_error(what, e))?;
            if req.integration != integ.name() || req.args != args {
                return Err(approval_error(
                    what,
                    ApprovalError::Mismatch {
                        id: id.clone(),
                        granted: format!("{} {}", req.integration, req.args.join(" ")),
                    },
                ));
            }
            decide_and_run(services, integ, args, c, id, *consent, what, ctx).await
        }
        Human::Retry { .. } => {
            let req = new_request()?;
            if let Ok(mut slot) = ctx.needs_input.lock() {
                *slot = Some(InputRequired {
                    message: prompt(integ, &req),
                    state: req.id.clone(),
                });
            }
            Err(out_of_band(what, &req, ""))
        }
        Human::Unreachable => {
            let req = new_request()?;
            Err(out_of_band(what, &req, ""))
        }
    }
}

/// Applies a person's answer to a pending request, then runs it if accepted.
#[allow(clippy::too_many_arguments)]
async fn decide_and_run(
    services: &Arc<Services>,
    integ: &Integration,
    args: &[String],
    c: &Classification,
    id: &str,
    consent: Consent,
    what: &str,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let store = &services.approvals;
    if consent != Consent::Accept {
        let _ = store.deny(id);
        audit(
            ctx,
            "approval_declined",
            json!({"approval": id, "integration": integ.name()}),
        )?;
        let how = if consent == Consent::Decline {
            "declined"
        } else {
            "cancelled"
        };
        return Err(ToolError::new(
            format!("{what} not run"),
            format!("the person {how} it"),
            "do not retry the same command unless the person asks for it",
        ));
    }
    store.approve(id).map_err(|e| approval_error(what, e))?;
    audit(
        ctx,
        "approval_granted",
        json!({"approval": id, "by": "elicitation"}),
    )?;
    store
        .consume(id, integ.name(), args)
        .map_err(|e| approval_error(what, e))?;
    execute(services, integ, args, c, "approved", what, ctx).await
}

/// The question a person sees: integration, scope, the exact command, its class.
fn prompt(integ: &Integration, req: &Request) -> String {
    format!(
        "Run this command?\nintegration: {} ({}; {})\ncommand: {} {}\nclass: {} — {}\napproval id: {}",
        integ.name(),
        integ.cli().program(),
        if req.scope.is_empty() {
            "no pins".to_string()
        } else {
            req.scope.join(", ")
        },
        integ.cli().program(),
        req.args.join(" "),
        req.class,
        req.why,
        req.id
    )
}

fn out_of_band(what: &str, req: &Request, prefix: &str) -> ToolError {
    let minutes = req.expires_at.saturating_sub(req.requested_at).div_ceil(60);
    ToolError::new(
        format!("{what} not run: approval required (id {})", req.id),
        format!(
            "{prefix}it is a {} ({}); a person must approve this exact command",
            req.class, req.why
        ),
        format!(
            "ask a person to run `fathom approve {}` in the workspace, then call cloud_run again \
             with the same arguments and approval_id \"{}\" (expires in {minutes} min)",
            req.id, req.id
        ),
    )
}

fn approval_error(what: &str, e: ApprovalError) -> ToolError {
    let next = match e {
        ApprovalError::NotApproved(_) => {
            "wait for the person to run `fathom approve ID`, then retry"
        }
        ApprovalError::Expired(_) | ApprovalError::Used(_) | ApprovalError::Unknown(_) => {
            "call cloud_run without approval_id to request a new approval"
        }
        ApprovalError::Mismatch { .. } => {
            "an approval covers one exact command: call with the approved arguments, or request a new approval"
        }
        ApprovalError::Denied(_) => "the person said no; do not retry unless asked",
        _ => "check the approval id",
    };
    ToolError::new(format!("{what} not run"), e.to_string(), next)
}

/// Writes an audit record; a record that cannot be written stops the action.
fn audit(ctx: &CallContext, kind: &'static str, fields: Value) -> Result<(), ToolError> {
    let map = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    (ctx.audit)(kind, map).map_err(|e| {
        ToolError::new(
            "cloud_run refused",
            format!("the audit log could not be written ({e})"),
            "ask the operator to fix the audit log; nothing ran",
        )
    })
}

fn audit_decision(
    ctx: &CallContext,
    integ: &Integration,
    args: &[String],
    decision: &Decision,
) -> Result<(), ToolError> {
    let mut fields = json!({
        "integration": integ.name(),
        "cli": integ.cli().program(),
        "argv": args,
        "decision": decision.name(),
    });
    if let Some(c) = decision.classification() {
        fields["class"] = json!(c.class.name());
        fields["command"] = json!(c.words.join(" "));
        fields["unknown"] = json!(c.unknown);
    }
    if let Decision::Refuse { reason, .. } = decision {
        fields["reason"] = json!(reason);
    }
    audit(ctx, "cloud_decision", fields)
}

/// Runs the command and renders its answer within the budget.
async fn execute(
    services: &Arc<Services>,
    integ: &Integration,
    args: &[String],
    c: &Classification,
    allowed_by: &str,
    what: &str,
    ctx: &CallContext,
) -> Result<Reply, ToolError> {
    let root = services.workspace.root();
    let out = run::execute(integ, args, root, &services.redactor, &ctx.cancel)
        .await
        .map_err(|e| match e {
            RunError::Prepare(p) => ToolError::new(
                format!("{what} not run"),
                p.to_string(),
                "install the CLI or fix the integration's credentials (cloud_integrations shows its health)",
            ),
            RunError::Exec(x) => ToolError::new(
                format!("{what} not run"),
                x.to_string(),
                "install the CLI or set `program` in the integration",
            ),
        })?;
    audit(
        ctx,
        "cloud_exec",
        json!({
            "integration": integ.name(),
            "exit_code": out.exit_code,
            "timed_out": out.timed_out,
            "cancelled": out.cancelled,
            "duration_ms": out.elapsed.as_millis() as u64,
            "output_bytes": out.output_bytes,
            "truncated": out.truncated,
        }),
    )?;
    let command = c.words.join(" ");
    if out.timed_out {
        return Err(ToolError::new(
            format!("{what} timed out"),
            format!(
                "no answer within {} s; the process group was killed{}",
                integ.config.timeout_secs,
                first_line(&out.stderr)
            ),
            "check the endpoint is reachable, or raise `timeout_secs` for this integration",
        ));
    }
    if out.cancelled {
        return Err(ToolError::new(
            format!("{what} cancelled"),
            "the client cancelled the call; the process group was killed",
            "nothing more to do",
        ));
    }
    let budget = ctx.budget.saturating_sub(512).max(256);
    let mut truncated = out.truncated;
    let status = match out.exit_code {
        Some(0) => "exit 0".to_string(),
        Some(n) => format!("FAILED exit {n}"),
        None => "killed by a signal".to_string(),
    };
    let how = if allowed_by == "read" {
        c.class.name().to_string()
    } else {
        format!("{}, {allowed_by}", c.class.name())
    };
    let mut text = format!(
        "{} {} `{command}` ({how}) — {status}, {} ms, {} bytes\n",
        integ.name(),
        integ.cli().program(),
        out.elapsed.as_millis(),
        out.output_bytes
    );
    let mut body = out.stdout.clone();
    if body.len() > budget {
        body = clip_bytes(&body, budget);
        truncated = true;
    }
    text.push_str(&body);
    if !out.stderr.trim().is_empty() {
        let room = budget.saturating_sub(body.len()).max(400);
        text.push_str("\nstderr: ");
        text.push_str(&clip_bytes(out.stderr.trim(), room));
    }
    if truncated {
        text.push_str(
            "\n(output cut; narrow it: --query/--max-items for aws, --filter/--limit for gcloud, \
             --query for az, a selector or -o name for kubectl)",
        );
    }
    let output = match out.json {
        Some(v) if out.stdout.len() <= budget => Some(v),
        _ if out.stdout.is_empty() => None,
        _ => Some(Value::String(clip_bytes(&out.stdout, budget))),
    };
    let result = RunResult {
        integration: integ.name().to_string(),
        command,
        class: c.class,
        allowed_by: allowed_by.to_string(),
        exit_code: out.exit_code,
        timed_out: out.timed_out,
        truncated,
        duration_ms: out.elapsed.as_millis() as u64,
        output,
        stderr: clip_bytes(out.stderr.trim(), 2048),
    };
    Ok(Reply {
        text,
        structured: structured(&result),
    })
}

fn first_line(s: &str) -> String {
    match s.lines().find(|l| !l.trim().is_empty()) {
        Some(l) => format!(" (stderr: {})", clip(l.trim(), 160)),
        None => String::new(),
    }
}

/// Cuts text at a char boundary at or below `max` bytes.
fn clip_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
