//! The MCP surface: one rmcp [`ServerHandler`] shared by stdio and HTTP. It knows no
//! infrastructure; it filters the catalogue by toolset and scope, audits every call (intent
//! before, outcome after), runs the tool, and redacts and caps what goes back.

pub mod auth;
pub mod http;
pub mod stdio;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    Implementation, InputRequest, InputRequests, InputRequiredResult, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use crate::audit::{AuditLog, Event};
use crate::render::cap_text;
use crate::tools::{self, CallContext, Consent, Human, Services, ToolError, ToolSpec};
use crate::toolset::{Identity, Toolset};

/// Shared state of a running server.
#[derive(Debug)]
pub struct App {
    pub services: Arc<Services>,
    pub audit: Arc<AuditLog>,
    catalogue: Vec<ToolSpec>,
    call_counter: AtomicU64,
    started: u64,
}

impl App {
    /// Builds the app; the catalogue is filtered once by the toolsets the config disables.
    pub fn new(services: Arc<Services>, audit: Arc<AuditLog>) -> Self {
        let disabled = services.config.toolsets.disabled.clone();
        let catalogue = tools::catalogue()
            .into_iter()
            .filter(|t| !disabled.contains(&t.toolset))
            // Without integrations the cloud tools could only say "none configured": every
            // session would pay for their schemas for nothing.
            .filter(|t| t.toolset != Toolset::Cloud || !services.integrations.is_empty())
            .collect();
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self {
            services,
            audit,
            catalogue,
            call_counter: AtomicU64::new(0),
            started,
        }
    }

    /// Tools published by this server (after disabled toolsets are removed).
    pub fn catalogue(&self) -> &[ToolSpec] {
        &self.catalogue
    }

    /// Toolset of a published tool.
    pub fn toolset_of(&self, name: &str) -> Option<Toolset> {
        self.catalogue
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.toolset)
    }
}

/// The rmcp handler; cheap to clone (one per HTTP session).
#[derive(Debug, Clone)]
pub struct FathomServer {
    app: Arc<App>,
}

impl FathomServer {
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

/// Key of fathom's one input request in a 2026-07-28 `input_required` result.
const APPROVE_KEY: &str = "approve";

/// The yes/no form every approval asks.
fn approve_schema() -> Option<ElicitationSchema> {
    ElicitationSchema::builder()
        .required_bool(APPROVE_KEY)
        .description("Approve running exactly this command")
        .build()
        .ok()
}

/// Reads a person's answer: accepted with `approve: true` is consent; anything else is not.
fn consent_of(result: &ElicitResult) -> Consent {
    match result.action {
        ElicitationAction::Accept => {
            let yes = result
                .content
                .as_ref()
                .and_then(|c| c.get(APPROVE_KEY))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if yes {
                Consent::Accept
            } else {
                Consent::Decline
            }
        }
        ElicitationAction::Decline => Consent::Decline,
        _ => Consent::Cancel,
    }
}

/// How this call can reach a person: never for clients without elicitation; by a
/// server-to-client request on session protocols; by `input_required` on 2026-07-28.
fn human(
    context: &RequestContext<RoleServer>,
    request: &CallToolRequestParams,
    services: &Services,
) -> Human {
    let can_elicit = context
        .client_capabilities()
        .is_some_and(|c| c.elicitation.is_some());
    if !can_elicit {
        return Human::Unreachable;
    }
    let stateless = context
        .protocol_version()
        .is_some_and(|v| !v.has_initialize());
    if stateless {
        let answer = request
            .input_responses
            .as_ref()
            .and_then(|r| r.get(APPROVE_KEY))
            .and_then(|v| serde_json::from_value::<ElicitResult>(v.clone()).ok())
            .map(|r| consent_of(&r));
        return Human::Retry {
            state: request.request_state.clone(),
            answer,
        };
    }
    let peer = context.peer.clone();
    let redactor = services.redactor.clone();
    let wait = std::time::Duration::from_secs(services.config.approvals.ttl_secs);
    Human::Ask(Arc::new(move |message: String| {
        let peer = peer.clone();
        let message = redactor.text(&message);
        Box::pin(async move {
            let schema = approve_schema().ok_or("cannot build the approval form")?;
            let params = ElicitRequestParams::FormElicitationParams {
                meta: None,
                message,
                requested_schema: schema,
            };
            let result = peer
                .create_elicitation_with_timeout(params, Some(wait))
                .await
                .map_err(|e| e.to_string())?;
            Ok(consent_of(&result))
        })
    }))
}

/// The 2026-07-28 answer asking the person; `state` (an approval id) comes back on retry.
fn input_required(message: String, state: String) -> InputRequiredResult {
    let mut requests = InputRequests::new();
    if let Some(schema) = approve_schema() {
        requests.insert(
            APPROVE_KEY.to_string(),
            InputRequest::Elicitation(ElicitRequest::new(
                ElicitRequestParams::FormElicitationParams {
                    meta: None,
                    message,
                    requested_schema: schema,
                },
            )),
        );
    }
    InputRequiredResult::new(Some(requests), Some(state))
}

/// The caller's identity: set by the HTTP auth layer, else the local stdio user.
fn identity(context: &RequestContext<RoleServer>) -> Identity {
    context
        .extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Identity>().cloned())
        .or_else(|| context.extensions.get::<Identity>().cloned())
        .unwrap_or_else(Identity::stdio)
}

fn to_tool(spec: &ToolSpec) -> Tool {
    let annotations = ToolAnnotations::with_title(spec.title)
        .read_only(spec.read_only)
        .destructive(spec.destructive)
        .idempotent(spec.read_only)
        .open_world(spec.open_world);
    Tool::new(spec.name, spec.description, spec.input_schema.clone())
        .with_title(spec.title)
        .with_raw_output_schema(spec.output_schema.clone())
        .with_annotations(annotations)
}

impl ServerHandler for FathomServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("fathom", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "fathom: read-only eyes on this workspace's infrastructure and code. \
                 Answers are compact and capped; follow next_cursor for more.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let who = identity(&context);
        let tools = self
            .app
            .catalogue
            .iter()
            .filter(|t| who.may_use(t.toolset))
            .map(to_tool)
            .collect();
        // The list depends on the caller's scopes, so no shared cache may reuse it.
        Ok(ListToolsResult::with_all_items(tools).with_cache_scope(CacheScope::Private))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.app
            .catalogue
            .iter()
            .find(|t| t.name == name)
            .map(to_tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let who = identity(&context);
        let name = request.name.to_string();
        let Some(spec) = self.app.catalogue.iter().find(|t| t.name == name) else {
            let known: Vec<&str> = self
                .app
                .catalogue
                .iter()
                .filter(|t| who.may_use(t.toolset))
                .map(|t| t.name)
                .collect();
            return Err(McpError::invalid_params(
                format!(
                    "unknown tool `{}`; available: {}",
                    crate::render::clip(&self.app.services.redactor.text(&name), 64),
                    known.join(", ")
                ),
                None,
            ));
        };
        let args = request
            .arguments
            .clone()
            .map(Value::Object)
            .unwrap_or(Value::Null);
        let redacted_args = self.app.services.redactor.json(&args);
        let call_id = format!(
            "{:x}-{}",
            self.app.started,
            self.app.call_counter.fetch_add(1, Ordering::Relaxed)
        );
        let allowed = who.may_use(spec.toolset);
        let mut fields = Map::new();
        fields.insert("call".into(), json!(call_id));
        fields.insert("identity".into(), json!(who.subject));
        fields.insert("tool".into(), json!(name));
        fields.insert("args".into(), redacted_args);
        fields.insert(
            "decision".into(),
            json!(if allowed {
                "allow"
            } else {
                "deny: missing scope"
            }),
        );
        if let Err(e) = self.app.audit.append(Event {
            kind: "intent",
            fields,
        }) {
            tracing::error!(error = %e, "audit log write failed; refusing the call");
            let refusal = ToolError::new(
                format!("{name} refused"),
                format!("the audit log could not be written ({e})"),
                "ask the operator to fix the audit log; no action was taken",
            );
            let text = self.app.services.redactor.text(&refusal.to_string());
            return Ok(CallToolResult::error(vec![ContentBlock::text(text)]).into());
        }
        let started = Instant::now();
        let result = if allowed {
            // Progress goes through one queue and one sender task, so notifications keep
            // their order and the tool never waits on the client.
            let progress: Option<crate::tools::Progress> =
                context.meta.get_progress_token().map(|token| {
                    let peer = context.peer.clone();
                    let redactor = self.app.services.redactor.clone();
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
                    tokio::spawn(async move {
                        let mut n = 0u64;
                        while let Some(message) = rx.recv().await {
                            n += 1;
                            let param = ProgressNotificationParam::new(token.clone(), n as f64)
                                .with_message(redactor.text(&message));
                            if peer.notify_progress(param).await.is_err() {
                                break;
                            }
                        }
                    });
                    let report: crate::tools::Progress = Arc::new(move |message: String| {
                        let _ = tx.send(message);
                    });
                    report
                });
            let audit_log = self.app.audit.clone();
            let audit_redactor = self.app.services.redactor.clone();
            let (audit_call, audit_who) = (call_id.clone(), who.subject.clone());
            let audit: crate::tools::AuditFn = Arc::new(move |kind, fields| {
                let mut record = Map::new();
                record.insert("call".into(), json!(audit_call));
                record.insert("identity".into(), json!(audit_who));
                if let Value::Object(f) = audit_redactor.json(&Value::Object(fields)) {
                    record.extend(f);
                }
                audit_log
                    .append(Event {
                        kind,
                        fields: record,
                    })
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
            let ctx = CallContext {
                cancel: context.ct.clone(),
                budget: self.app.services.config.output.budget_bytes,
                progress,
                identity: who.subject.clone(),
                may_apply: who.scopes.contains(crate::toolset::SCOPE_APPLY),
                human: human(&context, &request, &self.app.services),
                needs_input: Arc::default(),
                audit,
            };
            let result = tools::dispatch(&self.app.services, &name, args, &ctx).await;
            let asked = ctx.needs_input.lock().ok().and_then(|mut s| s.take());
            if let Some(question) = asked {
                let mut fields = Map::new();
                fields.insert("call".into(), json!(call_id));
                fields.insert("identity".into(), json!(who.subject));
                fields.insert("tool".into(), json!(name));
                fields.insert("outcome".into(), json!("input_required"));
                fields.insert(
                    "duration_ms".into(),
                    json!(started.elapsed().as_secs_f64() * 1000.0),
                );
                if let Err(e) = self.app.audit.append(Event {
                    kind: "outcome",
                    fields,
                }) {
                    tracing::error!(error = %e, "audit log write failed for an outcome record");
                }
                let message = self.app.services.redactor.text(&question.message);
                return Ok(input_required(message, question.state).into());
            }
            result
        } else {
            Err(ToolError::new(
                format!("{name} refused"),
                format!(
                    "your token lacks the scope `{}` this tool needs",
                    spec.toolset.scope()
                ),
                "ask for a token with that scope",
            ))
        };
        let redactor = &self.app.services.redactor;
        let budget = self.app.services.config.output.budget_bytes;
        let (call_result, outcome, error) = match result {
            Ok(reply) => {
                let text = cap_text(redactor.text(&reply.text), budget);
                let structured = redactor.json(&reply.structured);
                let mut r = CallToolResult::structured(structured);
                r.content = vec![ContentBlock::text(text)];
                (r, "ok", None)
            }
            Err(e) => {
                let message = redactor.text(&e.to_string());
                let r = CallToolResult::error(vec![ContentBlock::text(message.clone())]);
                (r, if allowed { "error" } else { "denied" }, Some(message))
            }
        };
        let output_bytes: usize = call_result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.len()))
            .sum::<usize>()
            + call_result
                .structured_content
                .as_ref()
                .map_or(0, |v| v.to_string().len());
        let mut fields = Map::new();
        fields.insert("call".into(), json!(call_id));
        fields.insert("identity".into(), json!(who.subject));
        fields.insert("tool".into(), json!(name));
        fields.insert("outcome".into(), json!(outcome));
        fields.insert(
            "duration_ms".into(),
            json!(started.elapsed().as_secs_f64() * 1000.0),
        );
        fields.insert("output_bytes".into(), json!(output_bytes));
        if let Some(message) = error {
            fields.insert("error".into(), json!(message));
        }
        if let Err(e) = self.app.audit.append(Event {
            kind: "outcome",
            fields,
        }) {
            tracing::error!(error = %e, "audit log write failed for an outcome record");
        }
        Ok(call_result.into())
    }
}
