//! An agent session over stdio, through rmcp's client, against the real binary.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command as StdCommand, Stdio};

use common::{Client, Scratch, connect, fathom, run_fathom, sample_workspace, text};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::ServiceError;
use serde_json::{Value, json};

async fn search(client: &Client, args: Value) -> CallToolResult {
    common::call(client, "code_search", args).await
}

fn match_paths(result: &CallToolResult) -> BTreeSet<String> {
    result.structured_content.as_ref().expect("structured")["matches"]
        .as_array()
        .expect("matches array")
        .iter()
        .map(|m| m["path"].as_str().expect("path").to_string())
        .collect()
}

#[tokio::test]
async fn tools_list_publishes_typed_read_only_code_search() {
    let ws = sample_workspace();
    let client = connect(&ws.path).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        vec![
            "stacks",
            "stack_resources",
            "stack_resource",
            "stack_outputs",
            "stack_history",
            "preview",
            "preview_change",
            "code_where_is",
            "code_references",
            "code_definition",
            "code_outline",
            "code_hover",
            "code_search"
        ]
    );
    for t in &tools {
        let ann = t.annotations.as_ref().expect("annotations");
        assert_eq!(ann.read_only_hint, Some(true), "{}", t.name);
        assert!(t.output_schema.is_some(), "{}", t.name);
    }
    let tool = tools
        .iter()
        .find(|t| t.name == "code_search")
        .expect("code_search");
    assert_eq!(tool.input_schema.get("type"), Some(&json!("object")));
    assert!(tool.input_schema["properties"].get("query").is_some());
    let output = tool.output_schema.as_ref().expect("output schema");
    assert!(output["properties"].get("matches").is_some());
    let ann = tool.annotations.as_ref().expect("annotations");
    assert_eq!(ann.read_only_hint, Some(true));
    assert_eq!(ann.destructive_hint, Some(false));
    let size = serde_json::to_string(&tools).expect("json").len();
    // Every session pays for tools/list: keep the average tool under 1.8 KB.
    assert!(
        size < 1_800 * tools.len(),
        "tools/list grew to {size} bytes for {} tools",
        tools.len()
    );
    client.cancel().await.ok();
}

#[tokio::test]
async fn code_search_respects_gitignore_and_skips_binaries() {
    let ws = sample_workspace();
    let client = connect(&ws.path).await;
    let r = search(
        &client,
        json!({"query": "monthly_total_cents", "literal": true}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{}", text(&r));
    let paths = match_paths(&r);
    let expected: BTreeSet<String> = ["app/billing.ts", "app/invoice.ts", "jobs/job.py"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        paths, expected,
        "gitignored (dist/, *.log) and binary files must not match"
    );
    let t = text(&r);
    assert!(t.starts_with("4 matches in 3 files"), "{t}");
    assert!(
        t.contains("app/invoice.ts\n  1: import { monthly_total_cents }"),
        "{t}"
    );
    assert_eq!(
        r.structured_content.as_ref().unwrap()["complete"],
        json!(true)
    );

    // Whole-word, case, include/exclude filters.
    let r = search(
        &client,
        json!({"query": "MONTHLY_TOTAL", "case": "insensitive", "include": ["*.py"]}),
    )
    .await;
    assert_eq!(
        match_paths(&r),
        ["jobs/job.py".to_string()].into_iter().collect()
    );
    let r = search(
        &client,
        json!({"query": "monthly_total", "whole_word": true}),
    )
    .await;
    assert!(match_paths(&r).is_empty(), "{}", text(&r));
    assert!(text(&r).contains("hint: drop whole_word"), "{}", text(&r));
    let r = search(
        &client,
        json!({"query": "monthly_total_cents", "exclude": ["app/**"]}),
    )
    .await;
    assert_eq!(
        match_paths(&r),
        ["jobs/job.py".to_string()].into_iter().collect()
    );
    let r = search(
        &client,
        json!({"query": "monthly_total_cents", "path": "app"}),
    )
    .await;
    assert_eq!(match_paths(&r).len(), 2);
    client.cancel().await.ok();
}

#[tokio::test]
async fn path_escapes_are_refused_with_a_clear_error() {
    let ws = sample_workspace();
    std::os::unix::fs::symlink("/etc", ws.join("etc-link")).expect("symlink");
    let outside = Scratch::new("outside");
    outside.write("secret.txt", "monthly_total_cents outside");
    std::os::unix::fs::symlink(outside.join("secret.txt"), ws.join("app/leak.ts"))
        .expect("symlink");
    let client = connect(&ws.path).await;
    for path in [
        "..",
        "../..",
        "/etc",
        "etc-link",
        "etc-link/passwd",
        "app/../../",
    ] {
        let r = search(&client, json!({"query": "root", "path": path})).await;
        assert_eq!(r.is_error, Some(true), "path {path} was not refused");
        let t = text(&r);
        assert!(t.contains("outside the workspace"), "{path}: {t}");
        assert!(t.contains("Next:"), "{path}: {t}");
    }
    // A symlinked file inside the workspace pointing out of it is never searched.
    let r = search(&client, json!({"query": "outside", "literal": true})).await;
    assert!(match_paths(&r).is_empty(), "{}", text(&r));
    client.cancel().await.ok();
}

#[tokio::test]
async fn invalid_regex_and_globs_give_actionable_errors() {
    let ws = sample_workspace();
    let client = connect(&ws.path).await;
    let r = search(&client, json!({"query": "(unclosed"})).await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(t.contains("invalid regex: unclosed group"), "{t}");
    assert!(t.contains("literal: true"), "{t}");
    let r = search(&client, json!({"query": "x", "include": ["a{b"]})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("invalid glob"), "{}", text(&r));
    let r = search(&client, json!({"query": "x", "cursor": "not-a-cursor"})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("cursor"), "{}", text(&r));
    client.cancel().await.ok();
}

#[tokio::test]
async fn huge_result_sets_are_capped_and_the_cursor_continues_exactly() {
    let ws = Scratch::new("huge");
    let mut expected = Vec::new();
    for f in 0..40 {
        let mut body = String::new();
        for l in 1..=120 {
            body.push_str(&format!("let needle_{f}_{l} = {l}; // needle\n"));
            expected.push((format!("src/f{f:02}.rs"), l as u64));
        }
        ws.write(&format!("src/f{f:02}.rs"), body);
    }
    expected.sort();
    let client = connect(&ws.path).await;
    let mut seen: Vec<(String, u64)> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut calls = 0;
    loop {
        calls += 1;
        assert!(calls < 200, "cursor never ended");
        let mut args = json!({"query": "needle", "literal": true, "limit": 500});
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let r = search(&client, args).await;
        assert_eq!(r.is_error, Some(false), "{}", text(&r));
        let t = text(&r);
        assert!(
            t.len() <= 16 * 1024,
            "answer of {} bytes exceeds the budget",
            t.len()
        );
        let s = r.structured_content.expect("structured");
        for m in s["matches"].as_array().expect("matches") {
            seen.push((
                m["path"].as_str().expect("path").to_string(),
                m["line"].as_u64().expect("line"),
            ));
        }
        match s.get("next_cursor").and_then(Value::as_str) {
            Some(c) => {
                assert_eq!(s["complete"], json!(false));
                assert!(t.contains(c), "text must carry the cursor too");
                cursor = Some(c.to_string());
            }
            None => {
                assert_eq!(s["complete"], json!(true));
                break;
            }
        }
    }
    assert!(
        calls > 2,
        "4800 matches should need several pages, took {calls}"
    );
    assert_eq!(seen.len(), expected.len(), "no duplicates and no gaps");
    assert_eq!(seen, expected);

    // A cursor from another query is refused.
    let first = search(
        &client,
        json!({"query": "needle", "literal": true, "limit": 5}),
    )
    .await;
    let c = first.structured_content.unwrap()["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let r = search(
        &client,
        json!({"query": "let", "literal": true, "cursor": c}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("different query"), "{}", text(&r));
    client.cancel().await.ok();
}

#[tokio::test]
async fn bad_arguments_and_unknown_tools_are_clear_and_the_server_keeps_serving() {
    let ws = sample_workspace();
    let client = connect(&ws.path).await;
    let r = search(&client, json!({"query": "x", "limit": "ten"})).await;
    assert_eq!(r.is_error, Some(true));
    let t = text(&r);
    assert!(
        t.contains("invalid arguments") && t.contains("`limit`"),
        "{t}"
    );
    let r = search(&client, json!({"limit": 3})).await;
    assert!(text(&r).contains("missing field `query`"), "{}", text(&r));
    let r = search(&client, json!({"query": "x", "colour": "red"})).await;
    assert!(text(&r).contains("unknown field `colour`"), "{}", text(&r));

    let err = client
        .call_tool(CallToolRequestParams::new("no_such_tool"))
        .await
        .expect_err("unknown tool must be a protocol error");
    match err {
        ServiceError::McpError(e) => {
            assert_eq!(e.code.0, -32602);
            assert!(
                e.message.contains("unknown tool `no_such_tool`"),
                "{}",
                e.message
            );
            assert!(e.message.contains("code_search"), "{}", e.message);
        }
        other => panic!("unexpected error {other:?}"),
    }
    let r = search(&client, json!({"query": "monthly_total_cents"})).await;
    assert_eq!(
        r.is_error,
        Some(false),
        "server must keep serving after errors"
    );
    client.cancel().await.ok();
}

/// Raw JSON-RPC lines on stdin, as a misbehaving client would send them.
#[test]
fn malformed_json_rpc_gets_errors_and_the_session_survives() {
    let ws = sample_workspace();
    let mut child = StdCommand::new(fathom())
        .args(["serve", "--workspace"])
        .arg(&ws.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut send = |v: &str| {
        stdin.write_all(v.as_bytes()).expect("write");
        stdin.write_all(b"\n").expect("write");
        stdin.flush().expect("flush");
    };
    send(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#,
    );
    let init: Value =
        serde_json::from_str(&lines.next().expect("line").expect("read")).expect("json");
    assert_eq!(init["result"]["protocolVersion"], json!("2025-06-18"));
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    send("this is not json");
    send(
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"code_search","arguments":{"query":7}}}"#,
    );
    send(
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"code_search","arguments":{"query":"monthly_total_cents"}}}"#,
    );
    let mut by_id = std::collections::HashMap::new();
    let mut parse_errors = 0;
    while by_id.len() < 2 {
        let line = lines.next().expect("server closed stdout").expect("read");
        let v: Value = serde_json::from_str(&line).expect("server wrote invalid JSON");
        match v.get("id").and_then(Value::as_i64) {
            Some(id) => {
                by_id.insert(id, v);
            }
            None => {
                assert_eq!(v["error"]["code"], json!(-32700), "{v}");
                parse_errors += 1;
            }
        }
    }
    assert_eq!(
        parse_errors, 1,
        "a line that is not JSON gets exactly one parse error"
    );
    let wrong_type = &by_id[&2]["result"];
    assert_eq!(wrong_type["isError"], json!(true), "{wrong_type}");
    assert!(
        wrong_type.to_string().contains("invalid type"),
        "{wrong_type}"
    );
    assert_eq!(by_id[&3]["result"]["isError"], json!(false));
    drop(stdin);
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "server should exit cleanly when stdin closes: {status}"
    );
}

#[test]
fn bad_configuration_stops_start_up_naming_file_line_and_key() {
    let ws = Scratch::new("badcfg");
    ws.write(
        "fathom.toml",
        "[output]\nbudget_bytes = 8192\n\n[http]\nlisen = \"127.0.0.1:1\"\n",
    );
    let (code, _out, err) = run_fathom(
        &["serve", "--workspace", ws.path.to_str().unwrap()],
        &ws.path,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fathom.toml: line 5"), "{err}");
    assert!(err.contains("unknown field `lisen`"), "{err}");
    let ws = Scratch::new("badval");
    ws.write("fathom.toml", "[toolsets]\ndisabled = [\"kode\"]\n");
    let (code, _out, err) = run_fathom(
        &["serve", "--workspace", ws.path.to_str().unwrap()],
        &ws.path,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 2") && err.contains("kode"), "{err}");
}

#[tokio::test]
async fn disabled_toolsets_are_not_published() {
    let ws = sample_workspace();
    ws.write(
        "fathom.toml",
        "[toolsets]\ndisabled = [\"code\", \"state\", \"preview\"]\n",
    );
    let client = connect(&ws.path).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.is_empty(), "{tools:?}");
    let err = client
        .call_tool(CallToolRequestParams::new("code_search"))
        .await
        .expect_err("disabled tool must be unknown");
    assert!(matches!(err, ServiceError::McpError(_)));
    client.cancel().await.ok();
}
