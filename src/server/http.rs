//! Streamable HTTP transport at `/mcp` for hosted agents, locked down by default: loopback
//! bind unless auth is on, Host/Origin allow-lists (DNS-rebinding protection), bearer or
//! OAuth 2.1 resource-server auth with scope checks, body and header-time limits, `/healthz`,
//! RFC 9728 metadata, and graceful shutdown on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::auth::{AuthFailure, Authenticator};
use super::{App, FathomServer};
use crate::config::AuthMode;
use crate::toolset::{ALL_SCOPES, Identity};

/// Everything the middleware needs.
struct Gate {
    app: Arc<App>,
    auth: Authenticator,
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
    /// Canonical URL of the protected resource (`…/mcp`).
    resource: String,
    /// URL of the RFC 9728 metadata document.
    metadata_url: String,
    max_body: usize,
    body_timeout: Duration,
}

/// Binds and serves until SIGTERM / Ctrl-C. Prints the bound URL to stderr.
pub async fn serve(app: Arc<App>, addr: SocketAddr) -> anyhow::Result<()> {
    let cfg = app.services.config.http.clone();
    let auth = Authenticator::from_config(&cfg.auth, app.services.workspace.root()).await?;
    if !addr.ip().is_loopback() && !auth.required() {
        bail!(
            "refusing to serve on {addr} without authentication: a non-loopback address is \
             reachable by other machines. Set [http.auth] mode = \"bearer\" or \"oauth\" in \
             fathom.toml, or bind 127.0.0.1"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let resource = cfg
        .auth
        .resource
        .clone()
        .unwrap_or_else(|| format!("http://{local}/mcp"));
    let metadata_url = metadata_url_for(&resource);
    let shutdown = CancellationToken::new();
    let gate = Arc::new(Gate {
        app: app.clone(),
        auth,
        allowed_hosts: cfg.allowed_hosts.clone(),
        allowed_origins: cfg.allowed_origins.clone(),
        resource,
        metadata_url,
        max_body: cfg.max_body_bytes,
        body_timeout: Duration::from_secs(cfg.request_timeout_secs),
    });
    let router = router(gate, shutdown.clone());
    eprintln!("fathom: serving MCP at http://{local}/mcp");
    tracing::info!(%local, "http listening");

    let mut builder = ConnBuilder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(cfg.request_timeout_secs));
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = TowerToHyperService::new(router.clone());
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut signal => {
                eprintln!("fathom: shutting down");
                break;
            }
        }
    }
    drop(listener);
    shutdown.cancel();
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; closing them");
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `https://h/.well-known/oauth-protected-resource/<path>` for a resource URL (RFC 9728 §3.1).
fn metadata_url_for(resource: &str) -> String {
    let (scheme, rest) = resource.split_once("://").unwrap_or(("http", resource));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = path.trim_end_matches('/');
    format!("{scheme}://{authority}/.well-known/oauth-protected-resource{path}")
}

fn router(gate: Arc<Gate>, shutdown: CancellationToken) -> Router {
    let http = &gate.app.services.config.http;
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(http.allowed_hosts.iter().cloned());
    let app = gate.app.clone();
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_max_request_body_bytes(http.max_body_bytes)
        .with_cancellation_token(shutdown);
    let mcp = StreamableHttpService::new(
        move || Ok(FathomServer::new(app.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let protected = Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(gate.clone(), authorize));
    let metadata = Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            get(resource_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(resource_metadata),
        )
        .with_state(gate.clone());
    Router::new()
        .merge(protected)
        .merge(metadata)
        .layer(middleware::from_fn_with_state(
            gate.clone(),
            guard_host_origin,
        ))
        .route("/healthz", get(|| async { "ok\n" }))
}

async fn resource_metadata(State(gate): State<Arc<Gate>>) -> Response {
    if gate.app.services.config.http.auth.mode != AuthMode::Oauth {
        return (
            StatusCode::NOT_FOUND,
            "no OAuth protected-resource metadata: auth mode is not oauth\n",
        )
            .into_response();
    }
    let auth = &gate.app.services.config.http.auth;
    let servers = if auth.authorization_servers.is_empty() {
        auth.issuer.iter().cloned().collect::<Vec<_>>()
    } else {
        auth.authorization_servers.clone()
    };
    axum::Json(json!({
        "resource": gate.resource,
        "authorization_servers": servers,
        "scopes_supported": ALL_SCOPES,
        "bearer_methods_supported": ["header"],
        "resource_name": "fathom",
    }))
    .into_response()
}

/// Whether a `Host` header names this server: loopback names on any port, or a configured host.
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = host_name(host);
    if matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1") {
        return true;
    }
    allowed
        .iter()
        .any(|a| a.eq_ignore_ascii_case(host) || a.eq_ignore_ascii_case(&name))
}

/// The host part of `host[:port]` or `[v6]:port`, lower-cased.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match host.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host,
        }
    };
    name.to_ascii_lowercase()
}

/// Whether an `Origin` may call: a configured origin, or a loopback web page.
fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    if scheme != "http" && scheme != "https" {
        return false;
    }
    matches!(host_name(rest).as_str(), "localhost" | "127.0.0.1" | "::1")
}

fn forbidden(message: &str) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": Value::Null,
        "error": {"code": -32600, "message": message},
    });
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

/// DNS-rebinding protection for every route but `/healthz`.
async fn guard_host_origin(
    State(gate): State<Arc<Gate>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    match host {
        Some(h) if host_allowed(&h, &gate.allowed_hosts) => {}
        Some(h) => {
            return forbidden(&format!(
                "Host `{}` is not allowed; add it to http.allowed_hosts",
                crate::render::clip(&h, 100)
            ));
        }
        None => return forbidden("a Host header is required"),
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(origin, &gate.allowed_origins) {
            return forbidden(&format!(
                "Origin `{}` is not allowed; add it to http.allowed_origins",
                crate::render::clip(origin, 100)
            ));
        }
    }
    next.run(request).await
}

fn challenge(
    gate: &Gate,
    status: StatusCode,
    error: Option<(&str, &str)>,
    scope: Option<&str>,
) -> Response {
    let mut value = format!(
        "Bearer realm=\"fathom\", resource_metadata=\"{}\"",
        gate.metadata_url
    );
    if let Some((code, description)) = error {
        value.push_str(&format!(
            ", error=\"{code}\", error_description=\"{}\"",
            description.replace('"', "'")
        ));
    }
    if let Some(scope) = scope {
        value.push_str(&format!(", scope=\"{scope}\""));
    }
    let message = match error {
        Some((_, d)) => d.to_string(),
        None => "authentication required: send Authorization: Bearer <token>".to_string(),
    };
    let mut response = (
        status,
        axum::Json(json!({
            "jsonrpc": "2.0",
            "id": Value::Null,
            "error": {"code": -32001, "message": message},
        })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// Authenticates the caller, refuses `tools/call` for tools outside its scopes (403
/// `insufficient_scope`), and hands the identity to the MCP handler.
async fn authorize(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    let identity = match gate.auth.authenticate(request.headers()).await {
        Ok(id) => id,
        Err(AuthFailure::Missing) => return challenge(&gate, StatusCode::UNAUTHORIZED, None, None),
        Err(AuthFailure::Invalid(why)) => {
            return challenge(
                &gate,
                StatusCode::UNAUTHORIZED,
                Some(("invalid_token", &why)),
                None,
            );
        }
    };
    let (mut parts, body) = request.into_parts();
    let body = if parts.method == axum::http::Method::POST {
        let bytes = match read_body(body, gate.max_body, gate.body_timeout, &parts.headers).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        if let Some(scope) = missing_scope(&gate, &identity, &bytes) {
            return challenge(
                &gate,
                StatusCode::FORBIDDEN,
                Some((
                    "insufficient_scope",
                    &format!("this call needs the scope {scope}"),
                )),
                Some(scope),
            );
        }
        Body::from(bytes)
    } else {
        body
    };
    let is_delete = parts.method == axum::http::Method::DELETE;
    parts.extensions.insert::<Identity>(identity);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if is_delete && response.status() == StatusCode::ACCEPTED {
        // Session termination is complete when we answer; clients (the Python SDK among them)
        // expect 200 or 204 here, not 202.
        *response.status_mut() = StatusCode::NO_CONTENT;
        *response.body_mut() = Body::empty();
    }
    response
}

async fn read_body(
    body: Body,
    limit: usize,
    timeout: Duration,
    headers: &HeaderMap,
) -> Result<Bytes, Response> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {limit} bytes (http.max_body_bytes)\n"),
        )
            .into_response()
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(too_large());
    }
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(too_large()),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            "request body not received in time\n",
        )
            .into_response()),
    }
}

/// The scope a `tools/call` in this body needs and the caller lacks, if any.
fn missing_scope(gate: &Gate, identity: &Identity, body: &[u8]) -> Option<&'static str> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let messages = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    for message in &messages {
        if message.get("method").and_then(Value::as_str) != Some("tools/call") {
            continue;
        }
        let Some(name) = message.pointer("/params/name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(set) = gate.app.toolset_of(name)
            && !identity.may_use(set)
        {
            return Some(set.scope());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        assert!(host_allowed("127.0.0.1:8931", &[]));
        assert!(host_allowed("localhost", &[]));
        assert!(host_allowed("[::1]:80", &[]));
        assert!(!host_allowed("evil.example:8931", &[]));
        assert!(host_allowed("mcp.example.com", &["mcp.example.com".into()]));
        assert!(origin_allowed("http://localhost:6274", &[]));
        assert!(!origin_allowed("http://evil.example", &[]));
        assert!(!origin_allowed("null", &[]));
        assert!(origin_allowed(
            "https://app.example",
            &["https://app.example".into()]
        ));
    }

    #[test]
    fn metadata_url_inserts_well_known_before_path() {
        assert_eq!(
            metadata_url_for("http://127.0.0.1:8931/mcp"),
            "http://127.0.0.1:8931/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url_for("https://h.example"),
            "https://h.example/.well-known/oauth-protected-resource"
        );
    }
}
