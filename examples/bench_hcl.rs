//! `fathom hcl-ls` on a generated tree of 2,000 `.tf` files (100 modules × 20 files): cold
//! index time (the first workspace/symbol query indexes every module) and warm query latency,
//! printed in one run, then the MCP tool `code_where_is` through `fathom serve` on the same
//! tree (cold start to first answer, and warm). No peer: terraform-ls is not installable here.
//!
//!     cargo build --release && cargo run --release --example bench_hcl [-- FILES RUNS]

#[path = "bench_common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{StdioPeer, f2, fail, fathom_bin, print_table, repo, summarize};
use serde_json::{Value, json};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let root = repo().join("target/bench-hcl").join(files.to_string());
    let per_module = 20;
    if !root.is_dir() {
        for f in 0..files {
            let module = root.join(format!("mod{:03}", f / per_module));
            std::fs::create_dir_all(&module).unwrap_or_else(|e| fail(e));
            let mut text = format!("variable \"v{f}\" {{\n  default = \"x\"\n}}\n\n");
            for r in 0..5 {
                text.push_str(&format!(
                    "resource \"aws_instance\" \"r{f}_{r}\" {{\n  ami  = var.v{f}\n  tags = {{ name = \"n-${{var.v{f}}}\" }}\n  lifecycle {{\n    create_before_destroy = true\n  }}\n}}\n\n"
                ));
            }
            text.push_str(&format!(
                "output \"o{f}\" {{\n  value = aws_instance.r{f}_0.id\n}}\n"
            ));
            std::fs::write(module.join(format!("f{f:04}.tf")), text).unwrap_or_else(|e| fail(e));
        }
    }
    let mut child = Command::new(fathom_bin())
        .arg("hcl-ls")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| fail(e));
    let mut stdin = child.stdin.take().unwrap_or_else(|| fail("no stdin"));
    let mut out = BufReader::new(child.stdout.take().unwrap_or_else(|| fail("no stdout")));
    let mut id = 0u64;
    let mut request = |method: &str, params: Value| -> Value {
        id += 1;
        let body =
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap_or_else(|e| fail(e));
        stdin.flush().unwrap_or_else(|e| fail(e));
        loop {
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                out.read_line(&mut line).unwrap_or_else(|e| fail(e));
                let line = line.trim();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("Content-Length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut buf = vec![0u8; len];
            out.read_exact(&mut buf).unwrap_or_else(|e| fail(e));
            let v: Value = serde_json::from_slice(&buf).unwrap_or_else(|e| fail(e));
            if v["id"] == json!(id) {
                return v["result"].clone();
            }
        }
    };
    let uri = format!("file://{}", root.display());
    let t = Instant::now();
    request(
        "initialize",
        json!({"processId": null, "rootUri": uri, "capabilities": {}}),
    );
    let init_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let first = request("workspace/symbol", json!({"query": "aws_instance.r1999_4"}));
    let cold_ms = t.elapsed().as_secs_f64() * 1000.0;
    let found = first.as_array().map_or(0, Vec::len);
    let mut warm = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        request(
            "workspace/symbol",
            json!({"query": format!("aws_instance.r{}_2", (i * 97) % files)}),
        );
        warm.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let warm = summarize(&warm);
    let file = root.join("mod050").join("f1000.tf");
    let mut doc = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": format!("file://{}", file.display())}}),
        );
        doc.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let doc = summarize(&doc);
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();

    // The MCP tool an agent calls: `code_where_is` through `fathom serve`, which starts
    // `fathom hcl-ls` itself (no terraform-ls on this PATH).
    let config = root.with_extension("toml");
    std::fs::write(&config, "[audit]\npath = \"stderr\"\n").unwrap_or_else(|e| fail(e));
    let t = Instant::now();
    let mut peer = StdioPeer::spawn(
        Command::new(fathom_bin())
            .args(["serve", "--workspace"])
            .arg(&root)
            .arg("--config")
            .arg(&config)
            .env("PATH", "/usr/bin:/bin"),
    )
    .unwrap_or_else(|e| fail(e));
    peer.initialize(Duration::from_secs(60))
        .unwrap_or_else(|e| fail(e));
    let mut next_id = 10u64;
    let mut where_is = |peer: &mut StdioPeer, symbol: String| -> (f64, usize) {
        next_id += 1;
        let t = Instant::now();
        peer.send(
            &json!({"jsonrpc": "2.0", "id": next_id, "method": "tools/call",
                          "params": {"name": "code_where_is", "arguments": {"symbol": symbol}}}),
        )
        .unwrap_or_else(|e| fail(e));
        let (line, v) = peer
            .response(next_id, Duration::from_secs(120))
            .unwrap_or_else(|e| fail(e));
        if v["result"]["isError"] == true {
            fail(format!("code_where_is failed: {line}"));
        }
        let text_len = v["result"]["content"][0]["text"]
            .as_str()
            .map_or(0, str::len);
        (t.elapsed().as_secs_f64() * 1000.0, text_len)
    };
    let (_, cold_bytes) = where_is(&mut peer, "aws_instance.r1999_4".into());
    let mcp_cold_ms = t.elapsed().as_secs_f64() * 1000.0;
    // Warm: each query names a different resource, so its file is read for the first time.
    let mut mcp_warm = Vec::new();
    let mut bytes = 0;
    for i in 0..runs {
        let (ms, b) = where_is(&mut peer, format!("aws_instance.r{}_2", (i * 97) % files));
        mcp_warm.push(ms);
        bytes = b;
    }
    let mut mcp_again = Vec::new();
    for i in 0..runs {
        mcp_again.push(where_is(&mut peer, format!("aws_instance.r{}_2", (i * 97) % files)).0);
    }
    drop(peer);
    let mcp_warm = summarize(&mcp_warm);
    let mcp_again = summarize(&mcp_again);
    println!(
        "\nbench_hcl: {files} .tf files in {} modules, {} resources; {runs} warm runs\n{}",
        files / per_module,
        files * 5,
        common::machine_facts()
    );
    print_table(
        &["measure", "ms", "notes"],
        &[
            vec!["initialize".into(), f2(init_ms), String::new()],
            vec![
                "cold: first workspace/symbol (indexes every module)".into(),
                f2(cold_ms),
                format!("{found} exact hit"),
            ],
            vec![
                "warm workspace/symbol, median".into(),
                f2(warm.median),
                format!("p90 {}", f2(warm.p90)),
            ],
            vec![
                "warm documentSymbol, median".into(),
                f2(doc.median),
                format!("p90 {}", f2(doc.p90)),
            ],
            vec![
                "MCP code_where_is cold (spawn fathom serve → first answer)".into(),
                f2(mcp_cold_ms),
                format!("answer {cold_bytes} bytes"),
            ],
            vec![
                "MCP code_where_is, new symbol each time, median".into(),
                f2(mcp_warm.median),
                format!("p90 {}; answer {bytes} bytes", f2(mcp_warm.p90)),
            ],
            vec![
                "MCP code_where_is, same symbols again (cached), median".into(),
                f2(mcp_again.median),
                format!("p90 {}", f2(mcp_again.p90)),
            ],
        ],
    );
    println!("\ncommand: {}", common::command_line("bench_hcl"));
}
