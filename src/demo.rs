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
    let local_bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".deps/npm/node_modules/.bin");
    let path_var = match (local_bin.is_dir(), std::env::var_os("PATH")) {
        (true, Some(p)) => {
            let mut dirs = vec![local_bin.clone()];
            dirs.extend(std::env::split_paths(&p));
            std::env::join_paths(dirs).ok()
        }
        (true, None) => Some(local_bin.clone().into_os_string()),
        (false, p) => p,
    };
    let transport = TokioChildProcess::new(tokio::process::Command::new(&exe).configure(|cmd| {
        cmd.arg("serve").arg("--workspace").arg(&workspace);
        if let Some(p) = &path_var {
            cmd.env("PATH", p);
        }
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
