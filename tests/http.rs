//! Streamable HTTP: a real rmcp client session, and the locked-down edges (auth, scopes,
//! Host/Origin, body limits, start-up refusals, graceful shutdown) probed with raw requests.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{HttpServer, Scratch, repo, sample_workspace};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

const TOKEN: &str = "test-token-0123456789abcdef";

fn http() -> reqwest::Client {
    common::tls();
    reqwest::Client::builder().build().expect("client")
}

/// POSTs one JSON-RPC message and returns status, headers and the JSON body (plain or SSE).
async fn post(
    url: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let h = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let value = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| v.get("id").is_some())
        .or_else(|| serde_json::from_str(&text).ok())
        .unwrap_or(Value::String(text));
    (status, h, value)
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "0"}}})
}

/// Opens a legacy session with a bearer token and returns the session id.
async fn session(url: &str, token: &str) -> String {
    let auth = format!("Bearer {token}");
    let (status, headers, body) = post(url, &initialize(), &[("authorization", &auth)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sid = headers
        .get("mcp-session-id")
        .expect("session id")
        .to_str()
        .expect("ascii")
        .to_string();
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _, _) = post(
        url,
        &note,
        &[("authorization", &auth), ("mcp-session-id", &sid)],
    )
    .await;
    assert!(status.is_success(), "{status}");
    sid
}

async fn rpc(
    url: &str,
    token: &str,
    sid: &str,
    id: u64,
    method: &str,
    params: Value,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let auth = format!("Bearer {token}");
    let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    post(
        url,
        &msg,
        &[
            ("authorization", &auth),
            ("mcp-session-id", sid),
            ("mcp-protocol-version", "2025-11-25"),
        ],
    )
    .await
}

fn www_authenticate(h: &reqwest::header::HeaderMap) -> String {
    h.get("www-authenticate")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn rmcp_client_over_http_lists_and_calls() {
    let ws = sample_workspace();
    let server = HttpServer::start(&ws.path, &[]);
    common::tls();
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(server.url.clone()),
    );
    let client = ().serve(transport).await.expect("initialize over HTTP");
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "code_search"));
    let Value::Object(args) = json!({"query": "monthly_total_cents", "literal": true}) else {
        unreachable!()
    };
    let r = client
        .call_tool(CallToolRequestParams::new("code_search").with_arguments(args))
        .await
        .expect("tools/call");
    assert_eq!(r.is_error, Some(false));
    let s = r.structured_content.expect("structured");
    assert_eq!(s["matches"].as_array().map(Vec::len), Some(4), "{s}");
    client.cancel().await.ok();
    let status = server.terminate();
    assert!(
        status.success(),
        "SIGTERM should shut down cleanly: {status}"
    );
}

#[tokio::test]
async fn bearer_tokens_are_required_and_checked() {
    let ws = sample_workspace();
    ws.write(
        "fathom.toml",
        "[http.auth]\nmode = \"bearer\"\ntoken_env = \"FATHOM_IT_TOKEN\"\n",
    );
    let server = HttpServer::start(&ws.path, &[("FATHOM_IT_TOKEN", TOKEN)]);
    let (status, h, body) = post(&server.url, &initialize(), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let challenge = www_authenticate(&h);
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains("resource_metadata=\"http://127.0.0.1:"),
        "{challenge}"
    );
    let (status, h, _) = post(
        &server.url,
        &initialize(),
        &[("authorization", "Bearer wrong-token-0000000000")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&h).contains("error=\"invalid_token\""));
    let (status, _, _) = post(
        &server.url,
        &initialize(),
        &[("authorization", "Basic Zm9vOmJhcg==")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let sid = session(&server.url, TOKEN).await;
    let (status, _, body) = rpc(&server.url, TOKEN, &sid, 2, "tools/list", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["result"]["tools"]
            .to_string()
            .contains("\"code_search\""),
        "{body}"
    );
    // The token never shows up in what the server writes.
    let audit = std::fs::read_to_string(ws.join(".fathom/audit.jsonl")).unwrap_or_default();
    assert!(!audit.contains(TOKEN));
}

#[tokio::test]
async fn host_origin_and_body_limits() {
    let ws = sample_workspace();
    ws.write(
        "fathom.toml",
        "[http]\nmax_body_bytes = 4096\nallowed_origins = [\"https://agent.example\"]\n",
    );
    let server = HttpServer::start(&ws.path, &[]);
    let (status, _, body) = post(&server.url, &initialize(), &[("host", "evil.example:80")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.to_string().contains("Host"), "{body}");
    let (status, _, body) = post(
        &server.url,
        &initialize(),
        &[("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, _) = post(
        &server.url,
        &initialize(),
        &[("origin", "https://agent.example")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = post(
        &server.url,
        &initialize(),
        &[("origin", "http://localhost:6274")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut big = initialize();
    big["params"]["padding"] = json!("x".repeat(10_000));
    let (status, _, _) = post(&server.url, &big, &[]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let health = http()
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
}

#[test]
fn non_loopback_bind_without_auth_is_refused() {
    let ws = sample_workspace();
    let err = HttpServer::try_start(&ws.path, &[], "0.0.0.0:0")
        .err()
        .expect("must refuse to start");
    assert!(err.contains("refusing to serve on 0.0.0.0"), "{err}");
    assert!(err.contains("[http.auth]"), "{err}");
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn jwt(key_file: &str, claims: Value) -> String {
    let pem = std::fs::read(repo().join("tests/fixtures/jwt").join(key_file)).expect("key");
    let key = EncodingKey::from_ed_pem(&pem).expect("ed25519 key");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("test-key".into());
    jsonwebtoken::encode(&header, &claims, &key).expect("sign")
}

fn oauth_workspace() -> Scratch {
    let ws = sample_workspace();
    let jwks = std::fs::read_to_string(repo().join("tests/fixtures/jwt/jwks.json")).expect("jwks");
    ws.write("keys/jwks.json", jwks);
    ws.write(
        "fathom.toml",
        "[http.auth]\nmode = \"oauth\"\nissuer = \"https://issuer.test\"\naudience = \"https://fathom.test/mcp\"\n\
         jwks_file = \"keys/jwks.json\"\nresource = \"https://fathom.test/mcp\"\nleeway_secs = 0\n",
    );
    ws
}

fn claims(scope: &str) -> Value {
    json!({"iss": "https://issuer.test", "aud": "https://fathom.test/mcp", "sub": "agent-7",
           "exp": now() + 600, "iat": now(), "scope": scope})
}

#[tokio::test]
async fn oauth_tokens_are_validated_and_scopes_gate_tools() {
    let ws = oauth_workspace();
    let server = HttpServer::start(&ws.path, &[]);

    // RFC 9728 metadata.
    let meta: Value = http()
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp",
            server.base
        ))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("json");
    assert_eq!(meta["resource"], json!("https://fathom.test/mcp"));
    assert_eq!(
        meta["authorization_servers"],
        json!(["https://issuer.test"])
    );
    assert!(meta["scopes_supported"].to_string().contains("fathom:read"));

    let (status, h, _) = post(&server.url, &initialize(), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        www_authenticate(&h).contains(
            "resource_metadata=\"https://fathom.test/.well-known/oauth-protected-resource/mcp\""
        ),
        "{}",
        www_authenticate(&h)
    );

    let mut bad = Vec::new();
    let mut expired = claims("fathom:read");
    expired["exp"] = json!(now() - 120);
    bad.push(("expired", jwt("test-ed25519.pem", expired), "expired"));
    let mut aud = claims("fathom:read");
    aud["aud"] = json!("https://other.test/mcp");
    bad.push(("wrong audience", jwt("test-ed25519.pem", aud), "audience"));
    let mut iss = claims("fathom:read");
    iss["iss"] = json!("https://evil.test");
    bad.push(("wrong issuer", jwt("test-ed25519.pem", iss), "issuer"));
    bad.push((
        "untrusted key",
        jwt("other-ed25519.pem", claims("fathom:read")),
        "signature",
    ));
    bad.push(("not a jwt", "abc.def".to_string(), "not a JWT"));
    for (case, token, why) in bad {
        let auth = format!("Bearer {token}");
        let (status, h, body) = post(&server.url, &initialize(), &[("authorization", &auth)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
        let c = www_authenticate(&h);
        assert!(c.contains("error=\"invalid_token\""), "{case}: {c}");
        assert!(c.contains(why), "{case}: {c}");
    }

    // A read token sees and calls code_search.
    let read = jwt("test-ed25519.pem", claims("fathom:read"));
    let sid = session(&server.url, &read).await;
    let (_, _, body) = rpc(&server.url, &read, &sid, 2, "tools/list", json!({})).await;
    assert!(
        body["result"]["tools"]
            .to_string()
            .contains("\"code_search\""),
        "{body}"
    );
    let (status, _, body) = rpc(
        &server.url,
        &read,
        &sid,
        3,
        "tools/call",
        json!({"name": "code_search", "arguments": {"query": "monthly_total_cents"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"]["isError"], json!(false), "{body}");

    // A token without fathom:read does not see it and cannot call it.
    let preview = jwt("test-ed25519.pem", claims("fathom:preview"));
    let sid = session(&server.url, &preview).await;
    let (_, _, body) = rpc(&server.url, &preview, &sid, 2, "tools/list", json!({})).await;
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, vec!["preview", "preview_change"], "{body}");
    let (status, h, body) = rpc(
        &server.url,
        &preview,
        &sid,
        3,
        "tools/call",
        json!({"name": "code_search", "arguments": {"query": "x"}}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let c = www_authenticate(&h);
    assert!(
        c.contains("error=\"insufficient_scope\"") && c.contains("scope=\"fathom:read\""),
        "{c}"
    );

    // Identities reach the audit log; tokens do not.
    let audit = std::fs::read_to_string(ws.join(".fathom/audit.jsonl")).expect("audit");
    assert!(audit.contains("\"identity\":\"agent-7\""), "{audit}");
    assert!(!audit.contains(&read));
}

/// A JWKS served over HTTP on loopback; its document can be swapped to rotate keys.
async fn jwks_server(doc: std::sync::Arc<std::sync::Mutex<String>>) -> String {
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { doc.lock().map(|d| d.clone()).unwrap_or_default() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/jwks.json")
}

fn rotated_jwt(claims: Value) -> String {
    let pem = std::fs::read(repo().join("tests/fixtures/jwt/other-ed25519.pem")).expect("key");
    let key = EncodingKey::from_ed_pem(&pem).expect("ed25519 key");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("rotated-key".into());
    jsonwebtoken::encode(&header, &claims, &key).expect("sign")
}

#[tokio::test(flavor = "multi_thread")]
async fn jwks_url_is_fetched_and_rotated_keys_are_picked_up() {
    let fixtures = repo().join("tests/fixtures/jwt");
    let first = std::fs::read_to_string(fixtures.join("jwks.json")).expect("jwks");
    let rotated = std::fs::read_to_string(fixtures.join("rotated-jwks.json")).expect("jwks");
    let doc = std::sync::Arc::new(std::sync::Mutex::new(first));
    let url = jwks_server(doc.clone()).await;
    let ws = sample_workspace();
    ws.write(
        "fathom.toml",
        format!(
            "[http.auth]\nmode = \"oauth\"\nissuer = \"https://issuer.test\"\naudience = \"https://fathom.test/mcp\"\n\
             jwks_url = \"{url}\"\njwks_refresh_min_secs = 0\n"
        ),
    );
    let workspace = ws.path.clone();
    let server = tokio::task::spawn_blocking(move || HttpServer::start(&workspace, &[]))
        .await
        .expect("start");
    let ok = jwt("test-ed25519.pem", claims("fathom:read"));
    let (status, _, body) = post(
        &server.url,
        &initialize(),
        &[("authorization", &format!("Bearer {ok}"))],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A token from a key the server has not seen yet is refused…
    let new_key = rotated_jwt(claims("fathom:read"));
    let auth = format!("Bearer {new_key}");
    let (status, h, _) = post(&server.url, &initialize(), &[("authorization", &auth)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&h).contains("not signed by a key this server trusts"));
    // …until the issuer publishes it; then the unknown kid triggers a refetch.
    *doc.lock().expect("lock") = rotated;
    let (status, _, body) = post(&server.url, &initialize(), &[("authorization", &auth)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[test]
fn jwks_url_must_be_https_off_loopback_and_reachable() {
    let ws = sample_workspace();
    ws.write(
        "fathom.toml",
        "[http.auth]\nmode = \"oauth\"\nissuer = \"i\"\naudience = \"a\"\njwks_url = \"http://keys.example.com/jwks.json\"\n",
    );
    let err = HttpServer::try_start(&ws.path, &[], "127.0.0.1:0")
        .err()
        .expect("refused");
    assert!(err.contains("must use https"), "{err}");
    ws.write(
        "fathom.toml",
        "[http.auth]\nmode = \"oauth\"\nissuer = \"i\"\naudience = \"a\"\njwks_url = \"http://127.0.0.1:9/jwks.json\"\n",
    );
    let err = HttpServer::try_start(&ws.path, &[], "127.0.0.1:0")
        .err()
        .expect("refused");
    assert!(err.contains("cannot fetch the JWKS"), "{err}");
}

/// A token with `fathom:cloud` but not `fathom:apply` may read through an integration, but a
/// write is refused before any person is asked, and no approval request is recorded.
#[tokio::test]
async fn cloud_writes_need_the_apply_scope() {
    let ws = sample_workspace();
    ws.write(
        "fathom.toml",
        "[http.auth]\nmode = \"bearer\"\ntoken_env = \"FATHOM_IT_TOKEN\"\ntoken_scopes = [\"fathom:cloud\"]\n\n\
         [[integration]]\nname = \"staging-rw\"\ncli = \"aws\"\naccess = \"write\"\nprogram = \"fathom-no-such-aws\"\n",
    );
    let server = HttpServer::start(&ws.path, &[("FATHOM_IT_TOKEN", TOKEN)]);
    let sid = session(&server.url, TOKEN).await;
    let (_, _, body) = rpc(&server.url, TOKEN, &sid, 2, "tools/list", json!({})).await;
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["cloud_integrations", "cloud_run"], "{body}");
    let call = |args: Value| json!({"name": "cloud_run", "arguments": {"integration": "staging-rw", "args": args}});
    let (_, _, body) = rpc(
        &server.url,
        TOKEN,
        &sid,
        3,
        "tools/call",
        call(json!(["s3api", "create-bucket", "--bucket", "b"])),
    )
    .await;
    let text = body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(body["result"]["isError"], true, "{body}");
    assert!(text.contains("lacks the scope `fathom:apply`"), "{text}");
    let pending = ws.join(".fathom/approvals/pending");
    assert!(
        std::fs::read_dir(&pending).map_or(true, |d| d.count() == 0),
        "an approval request was recorded"
    );
    // A read is allowed by the scope; it fails only because the CLI is missing.
    let (_, _, body) = rpc(
        &server.url,
        TOKEN,
        &sid,
        4,
        "tools/call",
        call(json!(["s3api", "list-buckets"])),
    )
    .await;
    let text = body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        text.contains("`fathom-no-such-aws` is not installed"),
        "{text}"
    );
}
