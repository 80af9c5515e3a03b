//! `fathom demo`: a scripted agent session through a real MCP client (rmcp) against a real
//! `fathom serve` child process, printing each call and its compact answer. It grows as tools
//! land, and doubles as a smoke test a newcomer can run in one command.

use std::path::PathBuf;

use anyhow::{Context, bail};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};

/// Runs the scripted session; `workspace` defaults to the bundled `examples/demo`.
pub async fn run(workspace: Option<PathBuf>) -> anyhow::Result<()> {
    let workspace = match workspace {
        Some(w) => w,
        None => default_workspace()?,
    };
    let exe = std::env::current_exe().context("cannot find the fathom binary")?;
    println!(
        "fathom demo: MCP client → `fathom serve --workspace {}`\n",
        workspace.display()
    );
    // Language servers installed by scripts/setup-test-deps are used when present; otherwise
    // those on PATH, and a missing one shows the error an agent would see.
    let deps = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".deps");
    let local_bins: Vec<PathBuf> = [deps.join("npm/node_modules/.bin"), deps.join("venv/bin")]
        .into_iter()
        .filter(|d| d.is_dir())
        .collect();
    let path_var = {
        let mut dirs = local_bins.clone();
        if let Some(p) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&p));
        }
        std::env::join_paths(dirs).ok()
    };
    // The demo's cloud integrations talk to a local moto server, when one is installed.
    let _moto = start_moto(&deps.join("venv/bin/moto_server"));
    let transport = TokioChildProcess::new(tokio::process::Command::new(&exe).configure(|cmd| {
        cmd.arg("serve").arg("--workspace").arg(&workspace);
        if let Some(p) = &path_var {
            cmd.env("PATH", p);
        }
        // moto accepts any key; these stand for the staging credentials a team would hand in.
        cmd.env("FATHOM_DEMO_AWS_KEY_ID", "AKIAFATHOMDEMO000001")
            .env("FATHOM_DEMO_AWS_SECRET", "demo-secret-never-shown-0000")
            .env("AWS_CONFIG_FILE", "/dev/null");
    }))
    .context("cannot start `fathom serve`")?;
    let client = ().serve(transport).await.context("MCP handshake failed")?;
    if let Some(info) = client.peer_info()
        && let Some(server) = &info.server_info
    {
        println!(
            "connected: {} {} (protocol {})",
            server.name, server.version, info.protocol_version
        );
    }

    let tools = client.list_all_tools().await?;
    let list_bytes = serde_json::to_string(&tools).map_or(0, |s| s.len());
    println!(
        "\n> tools/list  ({} tools, {list_bytes} bytes)",
        tools.len()
    );
    for t in &tools {
        println!("  {} — {}", t.name, t.description.as_deref().unwrap_or(""));
    }

    let steps: Vec<(&str, &str, Value)> = vec![
        ("What stacks are in this workspace?", "stacks", json!({})),
        (
            "What does the Terraform root manage?",
            "stack_resources",
            json!({"stack": "infra"}),
        ),
        (
            "The database in detail (its password stays masked)",
            "stack_resource",
            json!({"stack": "infra", "address": "aws_db_instance.payments"}),
        ),
        (
            "Outputs, sensitive ones masked",
            "stack_outputs",
            json!({"stack": "infra"}),
        ),
        (
            "Which Pulumi resources are protected?",
            "stack_resources",
            json!({"stack": "dev", "flag": "protected"}),
        ),
        (
            "What would go with the ledger table?",
            "stack_resource",
            json!({"stack": "payments-api/dev", "address": "ledger"}),
        ),
        (
            "What changed in the last Pulumi update?",
            "stack_history",
            json!({"stack": "payments-api/dev"}),
        ),
        (
            "And in the last Terraform apply?",
            "stack_history",
            json!({"stack": "infra"}),
        ),
        (
            "What would this saved plan do? (infra/plan.json, from terraform show -json)",
            "preview",
            json!({"stack": "infra", "plan_file": "infra/plan.json"}),
        ),
        (
            "Where is monthly_total_cents used?",
            "code_search",
            json!({"query": "monthly_total_cents", "literal": true}),
        ),
        (
            "Which Terraform resources are stateful-looking?",
            "code_search",
            json!({"query": "^resource \"aws_(db_instance|s3_bucket)", "include": ["*.tf"]}),
        ),
        (
            "Page through every function definition, two at a time",
            "code_search",
            json!({"query": r"\b(function|def)\s+\w+", "limit": 2}),
        ),
        (
            "Where is monthly_total_cents defined? (language servers: symbols, not text)",
            "code_where_is",
            json!({"symbol": "monthly_total_cents"}),
        ),
        (
            "Its real references in the TypeScript app (the comment does not count)",
            "code_references",
            json!({"symbol": "monthly_total_cents", "path": "app"}),
        ),
        (
            "What is in invoice.ts?",
            "code_outline",
            json!({"path": "app/src/invoice.ts"}),
        ),
        (
            "What does monthly_total_cents take and return, in Python?",
            "code_hover",
            json!({"path": "jobs/billing_job.py", "line": 18, "column": 20}),
        ),
        (
            "Where is the database declared? (fathom's own HCL server)",
            "code_where_is",
            json!({"symbol": "aws_db_instance.payments"}),
        ),
        (
            "Which cloud integrations can I use?",
            "cloud_integrations",
            json!({}),
        ),
        (
            "A read on staging runs at once (against the local moto server)",
            "cloud_run",
            json!({"integration": "staging-aws", "args": ["s3api", "list-buckets"]}),
        ),
        (
            "A write on staging waits for a person (this client cannot ask one)",
            "cloud_run",
            json!({"integration": "staging-aws", "args": ["s3api", "create-bucket", "--bucket", "invoices-archive"]}),
        ),
        (
            "Deleting in production is refused outright",
            "cloud_run",
            json!({"integration": "prod-readonly-aws", "args": ["rds", "delete-db-instance", "--db-instance-identifier", "payments"]}),
        ),
        (
            "Escaping the pinned scope is refused in every spelling",
            "cloud_run",
            json!({"integration": "staging-aws", "args": ["s3api", "list-buckets", "--prof=prod"]}),
        ),
        (
            "Reading a secret is refused",
            "cloud_run",
            json!({"integration": "staging-aws", "args": ["secretsmanager", "get-secret-value", "--secret-id", "payments/db"]}),
        ),
        (
            "An agent tries to read outside the workspace",
            "code_search",
            json!({"query": "root", "path": "../../../etc"}),
        ),
        (
            "A broken regex gets a clear error",
            "code_search",
            json!({"query": "(unclosed"}),
        ),
    ];
    let mut cursor_step: Option<Value> = None;
    for (why, tool, args) in steps {
        let result = call(&client, why, tool, args.clone()).await?;
        if tool == "preview"
            && let Some(id) = result
                .structured_content
                .as_ref()
                .and_then(|s| s.get("preview_id"))
                .and_then(Value::as_str)
        {
            call(
                &client,
                "Why is the database change dangerous?",
                "preview_change",
                json!({"preview_id": id, "address": "aws_db_instance.payments"}),
            )
            .await?;
        }
        if tool == "code_search"
            && cursor_step.is_none()
            && let Some(next) = result
                .structured_content
                .as_ref()
                .and_then(|s| s.get("next_cursor"))
                .and_then(Value::as_str)
        {
            let mut a = args.clone();
            a["cursor"] = json!(next);
            cursor_step = Some(a);
        }
    }
    if let Some(args) = cursor_step {
        call(
            &client,
            "…and continue exactly where it stopped",
            "code_search",
            args,
        )
        .await?;
    }
    client.cancel().await.ok();

    let log = workspace.join(".fathom/audit.jsonl");
    match crate::audit::verify(&log)? {
        crate::audit::Verdict::Intact { records } => {
            println!(
                "\naudit log {}: chain intact, {records} records",
                log.display()
            )
        }
        crate::audit::Verdict::Broken { line, reason } => {
            bail!(
                "audit log {} broken at line {line}: {reason}",
                log.display()
            )
        }
    }
    Ok(())
}

async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    why: &str,
    tool: &str,
    args: Value,
) -> anyhow::Result<CallToolResult> {
    println!("\n# {why}\n> {tool} {args}");
    let Value::Object(map) = args else {
        bail!("demo arguments must be an object");
    };
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
        .await?;
    let marker = if result.is_error == Some(true) {
        "error: "
    } else {
        ""
    };
    for block in &result.content {
        if let Some(text) = block.as_text() {
            for line in text.text.lines() {
                println!("  {marker}{line}");
            }
        }
    }
    Ok(result)
}

/// A moto server on the demo's pinned endpoint, killed when dropped; `None` when moto is not
/// installed or the port is taken (the demo then shows what an agent would see).
struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const DEMO_MOTO_PORT: u16 = 45131;

fn start_moto(program: &std::path::Path) -> Option<Moto> {
    if !program.is_file() || std::net::TcpStream::connect(("127.0.0.1", DEMO_MOTO_PORT)).is_ok() {
        return None;
    }
    let child = std::process::Command::new(program)
        .args(["-H", "127.0.0.1", "-p", &DEMO_MOTO_PORT.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let moto = Moto(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", DEMO_MOTO_PORT)).is_err() {
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Some(moto)
}

fn default_workspace() -> anyhow::Result<PathBuf> {
    let local = PathBuf::from("examples/demo");
    if local.is_dir() {
        return Ok(local);
    }
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    if bundled.is_dir() {
        return Ok(bundled);
    }
    bail!("no examples/demo here; pass --workspace DIR")
}
