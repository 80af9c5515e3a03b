//! The audit trail through the real binary (canary secrets never written, tampering caught by
//! `fathom audit verify`) and the checked-in tool schemas matching the code.

mod common;

use common::{fathom, repo, run_fathom, sample_workspace};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};

const CANARY: &str = "canary-S3CRET-7f3a9e1b42";

#[tokio::test]
async fn audit_records_every_call_without_secrets_and_tampering_is_detected() {
    let ws = sample_workspace();
    ws.write("fathom.toml", "[redact]\nenv = [\"FATHOM_IT_CANARY\"]\n");
    ws.write("app/config.ts", format!("const key = \"{CANARY}\";\n"));
    let transport = TokioChildProcess::new(tokio::process::Command::new(fathom()).configure(|c| {
        c.arg("serve")
            .arg("--workspace")
            .arg(&ws.path)
            .env("FATHOM_IT_CANARY", CANARY);
    }))
    .expect("spawn");
    let client = ().serve(transport).await.expect("initialize");
    let calls = [
        json!({"query": CANARY, "literal": true}),
        json!({"query": "key", "path": CANARY}),
        json!({"query": "(", "password": CANARY}),
    ];
    for args in calls {
        let Value::Object(map) = args else {
            unreachable!()
        };
        let r = client
            .call_tool(CallToolRequestParams::new("code_search").with_arguments(map))
            .await
            .expect("call");
        let shown = serde_json::to_string(&r).expect("json");
        assert!(
            !shown.contains(CANARY),
            "secret leaked into a result: {shown}"
        );
    }
    client.cancel().await.ok();

    let log = ws.join(".fathom/audit.jsonl");
    let text = std::fs::read_to_string(&log).expect("audit log");
    assert!(!text.contains(CANARY), "secret leaked into the audit log");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(records.len(), 6, "one intent and one outcome per call");
    for pair in records.chunks(2) {
        assert_eq!(pair[0]["kind"], json!("intent"));
        assert_eq!(pair[1]["kind"], json!("outcome"));
        assert_eq!(pair[0]["call"], pair[1]["call"]);
        assert_eq!(pair[0]["identity"], json!("stdio"));
        assert_eq!(pair[0]["tool"], json!("code_search"));
        assert_eq!(pair[0]["decision"], json!("allow"));
        assert!(pair[1]["duration_ms"].is_number());
        assert!(pair[1]["output_bytes"].as_u64().is_some());
    }
    assert_eq!(records[1]["outcome"], json!("ok"));
    assert_eq!(records[3]["outcome"], json!("error"));
    assert!(
        records[0]["args"]["query"]
            .as_str()
            .unwrap_or("")
            .contains("[redacted]")
    );

    let log_arg = log.to_str().expect("utf8");
    let (code, out, _) = run_fathom(&["audit", "verify", log_arg], &ws.path);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("chain intact, 6 records"), "{out}");

    let lines: Vec<&str> = text.lines().collect();
    let write = |v: Vec<&str>| std::fs::write(&log, v.join("\n") + "\n").expect("write");
    // Edit one value.
    let edited = lines[2].replace("\"code_search\"", "\"other_tool\"");
    let mut v = lines.clone();
    v[2] = &edited;
    write(v);
    let (code, out, _) = run_fathom(&["audit", "verify", log_arg], &ws.path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 3") && out.contains("modified"), "{out}");
    // Delete one record.
    let mut v = lines.clone();
    v.remove(3);
    write(v);
    let (code, out, _) = run_fathom(&["audit", "verify", log_arg], &ws.path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 4"), "{out}");
    // Reorder two records.
    let mut v = lines.clone();
    v.swap(4, 5);
    write(v);
    let (code, out, _) = run_fathom(&["audit", "verify", log_arg], &ws.path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 5"), "{out}");
}

#[test]
fn checked_in_tool_schemas_match_the_code() {
    let dir = repo().join("tool-schemas");
    let generated = fathom::tools::schema_files();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("tool-schemas/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut names: Vec<String> = generated.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(
        on_disk, names,
        "tool-schemas/ has stale or missing files; run `cargo run -- schemas`"
    );
    for (name, text) in generated {
        let current = std::fs::read_to_string(dir.join(&name)).expect("read schema");
        assert_eq!(
            current, text,
            "tool-schemas/{name} is out of date; run `cargo run -- schemas`"
        );
    }
    let (code, out, err) = run_fathom(&["schemas", "--check"], &repo());
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn example_configs_parse() {
    let dir = repo().join("examples/clients/http");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/clients/http") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).expect("read");
            fathom::config::Config::parse(&text, &path)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            n += 1;
        }
    }
    assert_eq!(
        n,
        2,
        "expected fathom.toml and oauth.toml in {}",
        dir.display()
    );
}
