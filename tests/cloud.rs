//! Cloud integrations end to end: the real aws CLI (v1, from PyPI) against a real moto server on
//! a loopback port, driven through `fathom serve` by rmcp clients of both protocol eras, with a
//! client-side "person" who accepts or declines elicitations, and the out-of-band
//! `fathom approve` path. Whether a command ran is checked independently, by asking moto
//! through the aws CLI directly.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Scratch, call, dep, fathom, processes_in, text};
use rmcp::model::{
    CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams, ElicitResult,
    ElicitationAction, Implementation, ProtocolVersion,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{ClientHandler, ErrorData as McpError, RoleClient, ServiceExt};
use serde_json::{Value, json};

const KEY_ID: &str = "AKIAFATHOMTESTKEY0001";
const SECRET: &str = "fathom-canary-secret-8c1f5e2a9b";

/// A moto server on a free loopback port, killed when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let child = Command::new(dep("venv/bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Runs the aws CLI straight against moto (the test's independent oracle).
    fn aws(&self, args: &[&str]) -> Value {
        let out = Command::new(dep("venv/bin/aws"))
            .args([
                "--endpoint-url",
                &self.url,
                "--region",
                "us-east-1",
                "--output",
                "json",
            ])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .output()
            .expect("run aws");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    fn buckets(&self) -> Vec<String> {
        self.aws(&["s3api", "list-buckets"])["Buckets"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|x| x["Name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An integration block for the aws CLI from `.deps/venv`.
fn aws_integration(name: &str, access: &str, endpoint: &str, extra: &str) -> String {
    format!(
        "[[integration]]\nname = \"{name}\"\ncli = \"aws\"\naccess = \"{access}\"\n\
         program = \"{}\"\nregion = \"us-east-1\"\nendpoint = \"{endpoint}\"\n\
         env = [\"AWS_CONFIG_FILE\"]\n{extra}\n\
         [integration.credentials]\nAWS_ACCESS_KEY_ID = {{ env = \"FATHOMTEST_KEY_ID\" }}\n\
         AWS_SECRET_ACCESS_KEY = {{ env = \"FATHOMTEST_SECRET\" }}\n\n",
        dep("venv/bin/aws").display()
    )
}

/// The person at the client: answers every elicitation the same way, and counts them.
#[derive(Clone)]
struct Person {
    accept: Arc<AtomicBool>,
    asked: Arc<AtomicUsize>,
    last_message: Arc<std::sync::Mutex<String>>,
}

impl Person {
    fn new(accept: bool) -> Self {
        Self {
            accept: Arc::new(AtomicBool::new(accept)),
            asked: Arc::default(),
            last_message: Arc::default(),
        }
    }
}

impl ClientHandler for Person {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request
            && let Ok(mut m) = self.last_message.lock()
        {
            *m = message.clone();
        }
        Ok(if self.accept.load(Ordering::SeqCst) {
            ElicitResult::new(ElicitationAction::Accept).with_content(json!({"approve": true}))
        } else {
            ElicitResult::new(ElicitationAction::Decline)
        })
    }

    fn get_info(&self) -> ClientConfig {
        let caps = ClientCapabilities::builder().enable_elicitation().build();
        ClientConfig::new(caps, Implementation::new("fathom-test-person", "1.0"))
    }
}

fn env() -> Vec<(String, String)> {
    vec![
        ("FATHOMTEST_KEY_ID".into(), KEY_ID.into()),
        ("FATHOMTEST_SECRET".into(), SECRET.into()),
        ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
        // fathom's own environment holds a credential too; the CLI must never see it.
        ("AWS_ACCESS_KEY_ID".into(), "AKIAPARENTENVKEY0000".into()),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            "parent-env-canary-secret-77a1".into(),
        ),
    ]
}

fn spawn(ws: &Path) -> TokioChildProcess {
    let env = env();
    TokioChildProcess::new(tokio::process::Command::new(fathom()).configure(|c| {
        c.arg("serve").arg("--workspace").arg(ws);
        for (k, v) in &env {
            c.env(k, v);
        }
    }))
    .expect("spawn fathom")
}

/// A session-era client (initialize) with a person behind it.
async fn legacy(ws: &Path, person: Person) -> RunningService<RoleClient, Person> {
    person.serve(spawn(ws)).await.expect("initialize")
}

/// A 2026-07-28 client (server/discover, no sessions) with a person behind it.
async fn modern(ws: &Path, person: Person) -> RunningService<RoleClient, Person> {
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    person
        .serve_with_lifecycle(
            spawn(ws),
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("discover")
}

async fn run_on<S: rmcp::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    integration: &str,
    args: &[&str],
) -> CallToolResult {
    let map = json!({"integration": integration, "args": args});
    let Value::Object(map) = map else {
        unreachable!()
    };
    client
        .call_tool(rmcp::model::CallToolRequestParams::new("cloud_run").with_arguments(map))
        .await
        .expect("tools/call")
}

fn approval_id(t: &str) -> String {
    let start = t
        .find("approval required (id ")
        .expect("approval id in answer")
        + 22;
    t[start..start + 10].to_string()
}

fn audit_text(ws: &Scratch) -> String {
    std::fs::read_to_string(ws.join(".fathom/audit.jsonl")).expect("audit log")
}

#[tokio::test]
async fn reads_run_writes_wait_for_the_person_and_everything_is_audited() {
    let moto = Moto::start();
    let ws = Scratch::new("cloud-legacy");
    ws.write(
        "fathom.toml",
        aws_integration("staging-ro", "read", &moto.url, "")
            + &aws_integration("staging-rw", "write", &moto.url, "deny = [\"iam *\"]"),
    );
    let person = Person::new(true);
    let client = legacy(&ws.path, person.clone()).await;

    let r = call_plain(&client, "cloud_integrations").await;
    let t = text(&r);
    assert!(t.starts_with("2 integrations (0 broken)"), "{t}");
    assert!(
        t.contains("staging-rw aws write (approval) [region=us-east-1"),
        "{t}"
    );

    // A read runs at once and returns moto's data.
    moto.aws(&["s3api", "create-bucket", "--bucket", "seeded"]);
    let r = run_on(&client, "staging-ro", &["s3api", "list-buckets"]).await;
    let t = text(&r);
    assert_ne!(r.is_error, Some(true), "{t}");
    assert!(t.contains("\"seeded\""), "{t}");
    let s = r.structured_content.clone().unwrap_or_default();
    assert_eq!(s["class"], "read");
    assert_eq!(s["exit_code"], 0);
    assert_eq!(s["output"]["Buckets"][0]["Name"], "seeded", "{s}");

    // A write on a read-only integration is refused and nothing runs.
    let r = run_on(
        &client,
        "staging-ro",
        &["s3api", "create-bucket", "--bucket", "ro-made"],
    )
    .await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "{t}");
    assert!(t.contains("read-only integration"), "{t}");
    assert_eq!(person.asked.load(Ordering::SeqCst), 0);

    // On the write integration the person is asked; accepted, it runs.
    let r = run_on(
        &client,
        "staging-rw",
        &["s3api", "create-bucket", "--bucket", "approved-one"],
    )
    .await;
    let t = text(&r);
    assert_ne!(r.is_error, Some(true), "{t}");
    assert_eq!(person.asked.load(Ordering::SeqCst), 1);
    let asked = person
        .last_message
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    assert!(
        asked.contains("staging-rw") && asked.contains("s3api create-bucket --bucket approved-one"),
        "{asked}"
    );
    assert!(asked.contains("class: write"), "{asked}");
    assert!(t.contains("(write, approved)"), "{t}");

    // Declined, it does not run.
    person.accept.store(false, Ordering::SeqCst);
    let r = run_on(
        &client,
        "staging-rw",
        &["s3api", "create-bucket", "--bucket", "declined-one"],
    )
    .await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "{t}");
    assert!(t.contains("declined"), "{t}");

    // A denied pattern never reaches the person.
    let r = run_on(
        &client,
        "staging-rw",
        &["iam", "create-user", "--user-name", "x"],
    )
    .await;
    assert!(text(&r).contains("deny pattern `iam *`"), "{}", text(&r));
    assert_eq!(person.asked.load(Ordering::SeqCst), 2);
    client.cancel().await.ok();

    let buckets = moto.buckets();
    assert!(buckets.contains(&"approved-one".to_string()), "{buckets:?}");
    assert!(
        !buckets.contains(&"declined-one".to_string()),
        "{buckets:?}"
    );
    assert!(!buckets.contains(&"ro-made".to_string()), "{buckets:?}");

    let log = audit_text(&ws);
    for kind in [
        "cloud_decision",
        "cloud_exec",
        "approval_granted",
        "approval_declined",
    ] {
        assert!(
            log.contains(&format!("\"kind\":\"{kind}\"")),
            "{kind} missing:\n{log}"
        );
    }
    assert!(log.contains("\"exit_code\":0"), "{log}");
    assert!(log.contains("\"decision\":\"refuse\""), "{log}");
    assert!(!log.contains(SECRET), "credential in the audit log");
    let (code, out, _) = common::run_fathom(
        &[
            "audit",
            "verify",
            &ws.join(".fathom/audit.jsonl").display().to_string(),
        ],
        &ws.path,
    );
    assert_eq!(code, 0, "{out}");
}

async fn call_plain<S: rmcp::Service<RoleClient>>(
    client: &RunningService<RoleClient, S>,
    tool: &str,
) -> CallToolResult {
    client
        .call_tool(rmcp::model::CallToolRequestParams::new(tool.to_string()))
        .await
        .expect("tools/call")
}

#[tokio::test]
async fn modern_clients_are_asked_through_input_required() {
    let moto = Moto::start();
    let ws = Scratch::new("cloud-modern");
    ws.write(
        "fathom.toml",
        aws_integration("staging-rw", "write", &moto.url, ""),
    );
    let person = Person::new(true);
    let client = modern(&ws.path, person.clone()).await;
    let r = run_on(
        &client,
        "staging-rw",
        &["s3api", "create-bucket", "--bucket", "modern-yes"],
    )
    .await;
    let t = text(&r);
    assert_ne!(r.is_error, Some(true), "{t}");
    assert_eq!(person.asked.load(Ordering::SeqCst), 1);
    person.accept.store(false, Ordering::SeqCst);
    let r = run_on(
        &client,
        "staging-rw",
        &["s3api", "create-bucket", "--bucket", "modern-no"],
    )
    .await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains("declined"), "{}", text(&r));
    client.cancel().await.ok();
    let buckets = moto.buckets();
    assert!(buckets.contains(&"modern-yes".to_string()), "{buckets:?}");
    assert!(!buckets.contains(&"modern-no".to_string()), "{buckets:?}");
    assert!(audit_text(&ws).contains("\"outcome\":\"input_required\""));
}

fn approve(ws: &Scratch, verb: &str, id: &str) -> (i32, String, String) {
    common::run_fathom(
        &[
            verb,
            id,
            "--yes",
            "--workspace",
            &ws.path.display().to_string(),
        ],
        &ws.path,
    )
}

#[tokio::test]
async fn out_of_band_approvals_are_exact_single_use_and_expire() {
    let moto = Moto::start();
    let ws = Scratch::new("cloud-oob");
    ws.write(
        "fathom.toml",
        aws_integration("staging-rw", "write", &moto.url, "") + "[approvals]\nttl_secs = 3\n",
    );
    // No elicitation capability: the plain client cannot ask anyone.
    let client = common::connect_with_env(&ws.path, &env()).await;
    let args = ["s3api", "create-bucket", "--bucket", "oob-bucket"];
    let r = run_on(&client, "staging-rw", &args).await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "{t}");
    assert!(t.contains("fathom approve"), "{t}");
    let id = approval_id(&t);

    let with_id =
        |a: &[&str], id: &str| json!({"integration": "staging-rw", "args": a, "approval_id": id});
    let r = call(&client, "cloud_run", with_id(&args, &id)).await;
    assert!(
        text(&r).contains("has not been approved yet"),
        "{}",
        text(&r)
    );

    // Without a terminal and without --yes, nothing is approved.
    let (code, _, err) = common::run_fathom(
        &[
            "approve",
            &id,
            "--workspace",
            &ws.path.display().to_string(),
        ],
        &ws.path,
    );
    assert_eq!(code, 1, "{err}");
    let (code, out, err) = approve(&ws, "approve", &id);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("s3api create-bucket --bucket oob-bucket"),
        "{out}"
    );

    // Bound to the exact argv.
    let other = ["s3api", "create-bucket", "--bucket", "other-bucket"];
    let r = call(&client, "cloud_run", with_id(&other, &id)).await;
    assert!(text(&r).contains("not this call"), "{}", text(&r));
    let r = call(&client, "cloud_run", with_id(&args, &id)).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains(&format!("approval:{id}")), "{}", text(&r));
    // Single use.
    let r = call(&client, "cloud_run", with_id(&args, &id)).await;
    assert!(text(&r).contains("already used"), "{}", text(&r));

    // Denied by a person.
    let r = run_on(&client, "staging-rw", &other).await;
    let denied = approval_id(&text(&r));
    let (code, _, _) = approve(&ws, "deny", &denied);
    assert_eq!(code, 0);
    let r = call(&client, "cloud_run", with_id(&other, &denied)).await;
    assert!(text(&r).contains("was denied"), "{}", text(&r));

    // Expired: approved in time, used too late; and too late to approve.
    let late = ["s3api", "create-bucket", "--bucket", "late-bucket"];
    let r = run_on(&client, "staging-rw", &late).await;
    let late_id = approval_id(&text(&r));
    assert_eq!(approve(&ws, "approve", &late_id).0, 0);
    let r = run_on(
        &client,
        "staging-rw",
        &["s3api", "create-bucket", "--bucket", "never"],
    )
    .await;
    let never_id = approval_id(&text(&r));
    tokio::time::sleep(Duration::from_millis(4200)).await;
    let r = call(&client, "cloud_run", with_id(&late, &late_id)).await;
    assert!(text(&r).contains("expired"), "{}", text(&r));
    let (code, _, err) = approve(&ws, "approve", &never_id);
    assert_eq!(code, 1);
    assert!(err.contains("expired"), "{err}");
    // A made-up id is no approval.
    let r = call(&client, "cloud_run", with_id(&args, "0123456789")).await;
    assert!(text(&r).contains("no approval request"), "{}", text(&r));
    client.cancel().await.ok();

    let buckets = moto.buckets();
    assert!(buckets.contains(&"oob-bucket".to_string()), "{buckets:?}");
    for absent in ["other-bucket", "late-bucket", "never"] {
        assert!(
            !buckets.contains(&absent.to_string()),
            "{absent}: {buckets:?}"
        );
    }
    let log = audit_text(&ws);
    assert!(log.contains("\"kind\":\"approval\""), "{log}");
    assert!(log.contains("\"identity\":\"terminal:"), "{log}");
}

/// Scope-escape and injection attempts on the aws CLI, each run through `cloud_run` on a write
/// integration (so only the pins can refuse it) against moto.
const AWS_ESCAPES: &[&[&str]] = &[
    &["s3api", "list-buckets", "--profile", "prod"],
    &["--profile", "prod", "s3api", "list-buckets"],
    &["s3api", "list-buckets", "--profile=prod"],
    &["s3api", "list-buckets", "--prof", "prod"],
    &["s3api", "list-buckets", "--pro=prod"],
    &["s3api", "list-buckets", "--p", "prod"],
    &["s3api", "list-buckets", "--region", "eu-west-1"],
    &["--region=eu-west-1", "s3api", "list-buckets"],
    &["s3api", "list-buckets", "--reg", "eu-west-1"],
    &["s3api", "list-buckets", "--r", "eu-west-1"],
    &[
        "s3api",
        "list-buckets",
        "--endpoint-url",
        "http://127.0.0.1:1",
    ],
    &["--endpoint-url=http://127.0.0.1:1", "s3api", "list-buckets"],
    &["s3api", "list-buckets", "--endpoint", "http://127.0.0.1:1"],
    &["s3api", "list-buckets", "--endp=http://127.0.0.1:1"],
    &["s3api", "list-buckets", "--e", "http://127.0.0.1:1"],
    &["s3api", "list-buckets", "--no-verify-ssl"],
    &["s3api", "list-buckets", "--no-verify"],
    &[
        "s3api",
        "list-buckets",
        "--ca-bundle",
        "/etc/ssl/certs/ca-certificates.crt",
    ],
    &["s3api", "list-buckets", "--ca=/tmp/ca.pem"],
    &["s3api", "list-buckets", "--debug"],
    &["--debug", "s3api", "list-buckets"],
    &["s3api", "list-buckets", "--deb"],
    &["s3api", "list-buckets", "--no-sign-request"],
    &["s3api", "list-buckets", "--no-sign"],
    &[
        "s3api",
        "list-buckets",
        "--cli-input-json",
        "file:///etc/passwd",
    ],
    &[
        "s3api",
        "list-buckets",
        "--cli-input-json=file://../outside.json",
    ],
    &[
        "s3api",
        "list-buckets",
        "--cli-input-json",
        "https://example.invalid/x.json",
    ],
    &[
        "s3api",
        "list-buckets",
        "--cli-input-yaml",
        "fileb:///etc/shadow",
    ],
    &[
        "s3api",
        "put-object",
        "--bucket",
        "b",
        "--key",
        "k",
        "--body",
        "fileb:///etc/hostname",
    ],
    &["ec2", "run-instances", "--user-data", "file:///etc/passwd"],
    &[
        "ec2",
        "run-instances",
        "--user-data",
        "file://~/.aws/credentials",
    ],
    &[
        "ec2",
        "run-instances",
        "--user-data",
        "file://../../etc/passwd",
    ],
    &["s3", "cp", "s3://seeded/k", "/tmp/fathom-escape"],
    &["s3", "cp", "s3://seeded/k", "../escape"],
    &["s3", "cp", "/etc/passwd", "s3://seeded/passwd"],
    &["s3", "sync", "s3://seeded", "/tmp"],
    &["s3", "mv", "/etc/hosts", "s3://seeded/h"],
    &["s3", "cp", "s3://seeded/k", "~/stolen"],
    &[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "prod/db",
    ],
    &[
        "secretsmanager",
        "batch-get-secret-value",
        "--secret-id-list",
        "a",
    ],
    &[
        "ssm",
        "get-parameter",
        "--name",
        "/db/pw",
        "--with-decryption",
    ],
    &[
        "ssm",
        "get-parameters-by-path",
        "--path",
        "/",
        "--with-decryption",
    ],
    &["ssm", "get-parameter", "--name", "/db/pw", "--with-d"],
    &["sts", "get-session-token"],
    &[
        "sts",
        "assume-role",
        "--role-arn",
        "arn:aws:iam::1:role/x",
        "--role-session-name",
        "s",
    ],
    &["configure", "get", "aws_secret_access_key"],
    &["configure", "export-credentials"],
    &["configure", "list"],
    &["ecr", "get-login-password"],
    &["s3", "presign", "s3://seeded/k"],
    &["kms", "decrypt", "--ciphertext-blob", "fileb://blob"],
    &["s3api", "list-buckets", "--query", "Buckets\0[]"],
    &["s3api", "list-buckets", "--query", "--profile", "prod"],
    &[
        "s3api",
        "list-buckets",
        "--max-items",
        "--endpoint-url",
        "http://127.0.0.1:1",
    ],
    &[
        "s3api",
        "get-object",
        "--bucket",
        "seeded",
        "--key",
        "k",
        "/tmp/fathom-outfile",
    ],
    &[
        "s3api",
        "get-object",
        "--bucket",
        "seeded",
        "--key",
        "k",
        "../outfile",
    ],
    &[
        "lambda",
        "invoke",
        "--function-name",
        "f",
        "/tmp/fathom-out.json",
    ],
    &[
        "apigateway",
        "get-export",
        "--rest-api-id",
        "a",
        "--stage-name",
        "s",
        "--export-type",
        "oas30",
        "/etc/cron.d/x",
    ],
];

#[tokio::test]
async fn escape_attempts_are_refused_and_metacharacters_are_inert() {
    let moto = Moto::start();
    moto.aws(&["s3api", "create-bucket", "--bucket", "seeded"]);
    let ws = Scratch::new("cloud-escape");
    ws.write(
        "fathom.toml",
        aws_integration("staging-rw", "write", &moto.url, "")
            + "[[integration]]\nname = \"gke\"\ncli = \"gcloud\"\naccess = \"write\"\nproject = \"staging\"\n\n\
               [[integration]]\nname = \"k8s\"\ncli = \"kubectl\"\naccess = \"write\"\ncontext = \"staging\"\nnamespace = \"shop\"\n\n\
               [[integration]]\nname = \"azure\"\ncli = \"az\"\naccess = \"write\"\nsubscription = \"s1\"\n",
    );
    let person = Person::new(true);
    let client = legacy(&ws.path, person.clone()).await;
    let before = moto.buckets();
    let mut refused = 0;
    for attempt in AWS_ESCAPES {
        let r = run_on(&client, "staging-rw", attempt).await;
        let t = text(&r);
        assert_eq!(r.is_error, Some(true), "{attempt:?} was not refused: {t}");
        assert!(t.contains("refused"), "{attempt:?}: {t}");
        refused += 1;
    }
    let others: &[(&str, &[&str])] = &[
        (
            "gke",
            &["compute", "instances", "list", "--project", "prod"],
        ),
        (
            "gke",
            &[
                "compute",
                "instances",
                "list",
                "--impersonate-service-account=x@y",
            ],
        ),
        ("gke", &["auth", "print-access-token"]),
        (
            "gke",
            &[
                "compute",
                "instances",
                "list",
                "--flags-file",
                "/tmp/f.yaml",
            ],
        ),
        ("k8s", &["get", "pods", "--context", "prod"]),
        ("k8s", &["get", "pods", "-nkube-system"]),
        ("k8s", &["get", "pods", "-A"]),
        ("k8s", &["get", "secret", "db", "-o", "yaml"]),
        ("k8s", &["config", "view", "--raw"]),
        ("k8s", &["--kubeconfig=/tmp/k", "get", "pods"]),
        ("azure", &["vm", "list", "--subscription", "prod"]),
        ("azure", &["account", "get-access-token"]),
        ("azure", &["vm", "list", "--debug"]),
    ];
    for (integration, attempt) in others {
        let r = run_on(&client, integration, attempt).await;
        let t = text(&r);
        assert_eq!(r.is_error, Some(true), "{integration} {attempt:?}: {t}");
        assert!(t.contains("refused"), "{integration} {attempt:?}: {t}");
        refused += 1;
    }
    assert_eq!(
        person.asked.load(Ordering::SeqCst),
        0,
        "a refused command reached the person"
    );
    assert!(refused >= 60, "{refused}");

    // Shell metacharacters are plain data: nothing is executed by a shell.
    for query in [
        "$(touch pwned)",
        "`touch pwned`",
        "Buckets; touch pwned",
        "Buckets | touch pwned && echo",
    ] {
        let r = run_on(
            &client,
            "staging-rw",
            &["s3api", "list-buckets", "--query", query],
        )
        .await;
        assert_ne!(text(&r), "", "{query}");
    }
    let r = run_on(
        &client,
        "staging-rw",
        &["s3api", "list-buckets", "--query", &"x".repeat(20_000)],
    )
    .await;
    assert!(text(&r).contains("longer than"), "{}", text(&r));
    assert!(!ws.join("pwned").exists(), "a shell ran");
    client.cancel().await.ok();
    assert_eq!(moto.buckets(), before, "an escape attempt changed moto");
}

#[tokio::test]
async fn secrets_never_leave_and_limits_hold() {
    let moto = Moto::start();
    // A loopback port that accepts connections and never answers.
    let black_hole = TcpListener::bind("127.0.0.1:0").expect("bind");
    let hole = format!("http://{}", black_hole.local_addr().expect("addr"));
    let ws = Scratch::new("cloud-secrets");
    ws.write(
        "fathom.toml",
        aws_integration(
            "staging-rw",
            "write",
            &moto.url,
            "secret_reads = [\"sts get-session-token\"]",
        ) + &aws_integration("capped", "read", &moto.url, "max_output_bytes = 4096")
            + &aws_integration("slow", "read", &hole, "timeout_secs = 2")
            + &format!(
                "[[integration]]\nname = \"nocreds\"\ncli = \"aws\"\nprogram = \"{}\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\nenv = [\"AWS_CONFIG_FILE\"]\n\n",
                dep("venv/bin/aws").display(),
                moto.url
            )
            + "[[integration]]\nname = \"missing\"\ncli = \"az\"\nprogram = \"fathom-no-such-az\"\n\n"
            // A stand-in for a CLI that prints its own environment, credentials included.
            + "[[integration]]\nname = \"printer\"\ncli = \"kubectl\"\naccess = \"write\"\nprogram = \"/usr/bin/printenv\"\n\
               [integration.credentials]\nKUBE_TOKEN = { env = \"FATHOMTEST_SECRET\" }\n",
    );
    let person = Person::new(true);
    let client = legacy(&ws.path, person.clone()).await;

    let t = text(&call_plain(&client, "cloud_integrations").await);
    assert!(t.contains("(1 broken)"), "{t}");
    assert!(
        t.contains("missing az read-only [] all commands — BROKEN: `fathom-no-such-az` not found"),
        "{t}"
    );

    // Secret-revealing reads are refused by default…
    for secret in [
        &["secretsmanager", "get-secret-value", "--secret-id", "x"][..],
        &["ssm", "get-parameter", "--name", "x", "--with-decryption"],
        &["configure", "export-credentials"],
    ] {
        let r = run_on(&client, "staging-rw", secret).await;
        assert!(
            text(&r).contains("reveals secrets"),
            "{secret:?}: {}",
            text(&r)
        );
    }
    // …and one the integration permits, once approved, runs with its secrets masked.
    let r = run_on(&client, "staging-rw", &["sts", "get-session-token"]).await;
    let t = text(&r);
    assert_ne!(r.is_error, Some(true), "{t}");
    let output = r.structured_content.clone().unwrap_or_default()["output"].clone();
    assert_eq!(output["Credentials"], "[redacted]", "{output}");
    assert!(t.contains("\"Credentials\":\"[redacted]\""), "{t}");
    // moto's session credentials (its documented example values) never show.
    assert!(
        !t.contains("EXAMPLEKEY") && !t.contains("AQoEXAMPLE"),
        "{t}"
    );

    // A program that prints its environment: the configured credential is masked, and
    // nothing of fathom's own environment (its credentials) was handed over.
    let r = run_on(&client, "printer", &[]).await;
    assert!(text(&r).contains("no command given"), "{}", text(&r));
    let r = run_on(&client, "printer", &["KUBE_TOKEN"]).await;
    let t = text(&r);
    assert_ne!(r.is_error, Some(true), "{t}");
    assert!(t.contains("[redacted]") && !t.contains(SECRET), "{t}");
    let r = run_on(&client, "printer", &["AWS_SECRET_ACCESS_KEY"]).await;
    let t = text(&r);
    assert!(
        t.contains("FAILED exit 1"),
        "printenv found fathom's own credential: {t}"
    );
    assert!(!t.contains("parent-env-canary"), "{t}");

    // fathom's own credentials never reach the child: with none configured, the CLI has none.
    let r = run_on(&client, "nocreds", &["s3api", "list-buckets"]).await;
    let t = text(&r);
    assert!(t.contains("FAILED") && t.contains("credentials"), "{t}");
    assert!(!t.contains("parent-env-canary"), "{t}");

    // The output cap cuts and says so.
    let r = run_on(&client, "capped", &["ec2", "describe-instance-types"]).await;
    let t = text(&r);
    assert!(t.contains("output cut"), "{t}");
    assert_eq!(r.structured_content.unwrap_or_default()["truncated"], true);

    // A black-hole endpoint times out, and the CLI's whole process group is gone.
    let started = Instant::now();
    let r = run_on(&client, "slow", &["s3api", "list-buckets"]).await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "{t}");
    assert!(t.contains("timed out"), "{t}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let left: Vec<String> = processes_in(&ws.path)
        .into_iter()
        .filter(|c| c.contains("aws"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // A missing CLI is a clear error; the other integrations keep working.
    let r = run_on(&client, "missing", &["vm", "list"]).await;
    let t = text(&r);
    assert!(t.contains("`fathom-no-such-az` is not installed"), "{t}");
    let r = run_on(&client, "staging-rw", &["s3api", "list-buckets"]).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    client.cancel().await.ok();
    drop(black_hole);

    let log = audit_text(&ws);
    assert!(!log.contains(SECRET), "credential in the audit log");
    assert!(
        !log.contains("parent-env-canary"),
        "parent credential in the audit log"
    );
}

/// The official MCP Python SDK as the client, in both eras and over both transports: its
/// elicitation callback (the person) accepts one write and declines another; moto shows which
/// ran.
#[test]
fn python_sdk_clients_are_asked_in_both_eras() {
    let moto = Moto::start();
    let ws = Scratch::new("cloud-python");
    ws.write(
        "fathom.toml",
        aws_integration("staging-rw", "write", &moto.url, ""),
    );
    let vars = env();
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = common::HttpServer::start(&ws.path, &pairs);
    for (transport, mode) in [
        ("stdio", "legacy"),
        ("stdio", "modern"),
        ("http", "legacy"),
        ("http", "modern"),
    ] {
        let yes = format!("py-{transport}-{mode}-yes");
        let no = format!("py-{transport}-{mode}-no");
        let target: Vec<String> = if transport == "http" {
            vec!["--url".into(), server.url.clone()]
        } else {
            vec![
                "--binary".into(),
                fathom().display().to_string(),
                "--workspace".into(),
                ws.path.display().to_string(),
            ]
        };
        let out = Command::new(dep("venv/bin/python"))
            .arg(common::repo().join("tests/python/cloud_approval_check.py"))
            .args(&target)
            .args(["--integration", "staging-rw", "--mode", mode])
            .args(["--accept-bucket", &yes, "--decline-bucket", &no])
            .envs(env())
            .output()
            .expect("run python");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("ALL CHECKS PASSED"),
            "{transport}/{mode}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let buckets = moto.buckets();
        assert!(buckets.contains(&yes), "{transport}/{mode}: {buckets:?}");
        assert!(!buckets.contains(&no), "{transport}/{mode}: {buckets:?}");
    }
}
