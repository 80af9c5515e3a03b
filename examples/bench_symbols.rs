//! Symbol tools on a real code base: the `moto` package installed by the test setup
//! (.deps/venv site-packages: about 1,450 Python files, 490,000 lines), answered by pyright.
//! Prints cold start to first answer, warm `code_where_is` and `code_references` latency
//! (p50/p95) and answer sizes, beside the same requests sent straight to pyright-langserver
//! (`textDocument/references`, and `workspace/symbol` as the peer of `code_where_is`) in the
//! same run. Both sides have the same files open and wait for pyright's analysis to finish
//! before the warm runs; the raw cold figure includes that wait, as fathom's does.
//!
//!     scripts/setup-test-deps && cargo build --release \
//!       && cargo run --release --example bench_symbols [-- RUNS]

#[path = "bench_common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{StdioPeer, f1, fail, fathom_bin, ms, print_table, repo, summarize};
use fathom::code::lsp::rpc::Connection;
use fathom::code::lsp::text::path_to_uri;
use serde_json::{Value, json};

const SYMBOL: &str = "unix_time";
const DEF_FILE: &str = "moto/core/utils.py";
const TIMEOUT: Duration = Duration::from_secs(600);

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    // A copy whose root holds the `moto` package, so `import moto.…` resolves inside the
    // workspace and references cross files (in site-packages the root would be `moto/` itself).
    let ws = repo().join("target/bench-symbols/src");
    if !ws.join("moto").is_dir() {
        std::fs::create_dir_all(&ws).unwrap_or_else(|e| fail(e));
        let status = Command::new("cp")
            .arg("-r")
            .arg(moto_dir())
            .arg(&ws)
            .status()
            .unwrap_or_else(|e| fail(e));
        if !status.success() {
            fail("copying moto failed");
        }
    }
    let bin_dir = repo().join(".deps/npm/node_modules/.bin");
    let pyright = bin_dir.join("pyright-langserver");
    if !pyright.exists() {
        fail("pyright-langserver is missing; run scripts/setup-test-deps");
    }
    let path_var = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (def_line, def_col) = definition_position(&ws);
    let out = repo().join("target/bench-symbols");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| fail(e));
    let config = out.join("fathom.toml");
    std::fs::write(
        &config,
        "[audit]\npath = \"stderr\"\n\n[lsp]\nrequest_timeout_secs = 600\nready_wait_secs = 600\n",
    )
    .unwrap_or_else(|e| fail(e));
    println!(
        "code base: {} ({} Python files); symbol `{SYMBOL}` defined at {DEF_FILE}:{def_line}:{def_col}; {runs} warm runs\n{}\n",
        ws.display(),
        count_py(&ws),
        common::machine_facts()
    );

    // ---- fathom over MCP ------------------------------------------------------------
    let started = Instant::now();
    let mut peer = StdioPeer::spawn(
        Command::new(fathom_bin())
            .args(["serve", "--workspace"])
            .arg(&ws)
            .arg("--config")
            .arg(&config)
            .env("PATH", &path_var),
    )
    .unwrap_or_else(|e| fail(e));
    peer.initialize(TIMEOUT).unwrap_or_else(|e| fail(e));
    let mut id = 10u64;
    let mut call = |peer: &mut StdioPeer, tool: &str, args: Value| -> (Duration, String, Value) {
        id += 1;
        let t = Instant::now();
        peer.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": tool, "arguments": args}}))
            .unwrap_or_else(|e| fail(e));
        let (_, v) = peer.response(id, TIMEOUT).unwrap_or_else(|e| fail(e));
        let elapsed = t.elapsed();
        let text = v["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if v["result"]["isError"] == true {
            fail(format!("{tool} failed: {text}"));
        }
        (elapsed, text, v["result"]["structuredContent"].clone())
    };
    let where_args = json!({"symbol": SYMBOL});
    let (_, where_text, where_s) = call(&mut peer, "code_where_is", where_args.clone());
    let cold_where = started.elapsed();
    let refs_args = json!({"path": DEF_FILE, "line": def_line, "column": def_col});
    let (cold_refs, refs_text, refs_s) = call(&mut peer, "code_references", refs_args.clone());
    let mut warm_where = Vec::new();
    let mut warm_refs = Vec::new();
    for _ in 0..runs {
        warm_where.push(ms(call(&mut peer, "code_where_is", where_args.clone()).0));
        warm_refs.push(ms(call(&mut peer, "code_references", refs_args.clone()).0));
    }
    drop(peer);

    // ---- pyright-langserver directly ----------------------------------------------
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| fail(e));
    let raw = rt.block_on(raw_pyright(&pyright, &ws, def_line, def_col, runs));

    let where_w = summarize(&warm_where);
    let refs_w = summarize(&warm_refs);
    let raw_refs = summarize(&raw.refs);
    let raw_ws = summarize(&raw.workspace_symbol);
    println!(
        "fathom answers: code_where_is {} definitions ({} exact), {} bytes of text; code_references {} references, the first {} shown (from {} files) with a cursor for the rest, {} bytes of text\n",
        where_s["definitions"].as_array().map_or(0, Vec::len),
        where_s["definitions"]
            .as_array()
            .map_or(0, |d| d.iter().filter(|x| x["exact"] == true).count()),
        where_text.len(),
        refs_s["total"],
        refs_s["files"].as_array().map_or(0, |f| f
            .iter()
            .map(|x| x["refs"].as_array().map_or(0, Vec::len))
            .sum::<usize>()),
        refs_s["files"].as_array().map_or(0, Vec::len),
        refs_text.len(),
    );
    print_table(
        &[
            "request",
            "cold (ms)",
            "warm p50 (ms)",
            "warm p95 (ms)",
            "answer (bytes)",
        ],
        &[
            vec![
                "fathom code_where_is (spawn → first answer)".into(),
                f1(ms(cold_where)),
                f1(where_w.median),
                f1(percentile95(&warm_where)),
                where_text.len().to_string(),
            ],
            vec![
                "pyright workspace/symbol (raw)".into(),
                f1(raw.cold_workspace_symbol),
                f1(raw_ws.median),
                f1(percentile95(&raw.workspace_symbol)),
                raw.workspace_symbol_bytes.to_string(),
            ],
            vec![
                "fathom code_references".into(),
                f1(ms(cold_refs)),
                f1(refs_w.median),
                f1(percentile95(&warm_refs)),
                refs_text.len().to_string(),
            ],
            vec![
                "pyright textDocument/references (raw)".into(),
                f1(raw.cold_refs),
                f1(raw_refs.median),
                f1(percentile95(&raw.refs)),
                raw.refs_bytes.to_string(),
            ],
        ],
    );
    println!(
        "\nfathom's overhead on warm references: {:+.1}% at the median ({} vs {} references)",
        (refs_w.median / raw_refs.median - 1.0) * 100.0,
        refs_s["total"],
        raw.refs_count
    );
    println!(
        "peer: the same queries through Serena: ../serena-venv/bin/python examples/bench_symbols_serena.py {runs}"
    );
}

fn percentile95(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    common::percentile(&v, 95.0)
}

struct Raw {
    cold_refs: f64,
    refs: Vec<f64>,
    refs_bytes: usize,
    refs_count: usize,
    cold_workspace_symbol: f64,
    workspace_symbol: Vec<f64>,
    workspace_symbol_bytes: usize,
}

async fn raw_pyright(program: &Path, ws: &Path, line: u64, col: u64, runs: usize) -> Raw {
    let mut child = tokio::process::Command::new(program)
        .arg("--stdio")
        .current_dir(ws)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| fail(e));
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        fail("pyright stdio");
    };
    let uri = path_to_uri(ws);
    let folders = json!([{"uri": uri, "name": "src"}]);
    let conn: Arc<Connection> =
        Connection::start(tokio::io::BufReader::new(stdout), stdin, folders.clone());
    conn.request(
        "initialize",
        json!({"processId": std::process::id(), "rootUri": uri, "workspaceFolders": folders,
               "capabilities": {"window": {"workDoneProgress": true},
                                "workspace": {"workspaceFolders": true, "configuration": true},
                                "textDocument": {"documentSymbol": {"hierarchicalDocumentSymbolSupport": true}}}}),
        TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| fail(e));
    conn.notify("initialized", json!({}));
    // The same documents fathom has open after `code_where_is`: every file naming the symbol.
    for file in files_naming(ws, SYMBOL) {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| fail(e));
        conn.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": path_to_uri(&file), "languageId": "python", "version": 1, "text": text}}),
        );
    }
    let file_uri = path_to_uri(&ws.join(DEF_FILE));
    // Like fathom, wait until pyright has finished analysing before timing warm requests.
    let mut activity = conn.activity();
    let ready_by = Instant::now() + TIMEOUT;
    let t = Instant::now();
    loop {
        let a = activity.borrow().clone();
        if (a.reported && a.active.is_empty()) || Instant::now() > ready_by {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(250), activity.changed()).await;
    }
    let indexing = ms(t.elapsed());
    // The identifier is ASCII on an ASCII line, so columns are the same in every encoding.
    let params = json!({"textDocument": {"uri": file_uri},
                        "position": {"line": line - 1, "character": col - 1},
                        "context": {"includeDeclaration": true}});
    let t = Instant::now();
    let first = conn
        .request("textDocument/references", params.clone(), TIMEOUT)
        .await
        .unwrap_or_else(|e| fail(e));
    let cold_refs = ms(t.elapsed()) + indexing;
    let mut refs = Vec::new();
    let mut last = first.clone();
    for _ in 0..runs {
        let t = Instant::now();
        last = conn
            .request("textDocument/references", params.clone(), TIMEOUT)
            .await
            .unwrap_or_else(|e| fail(e));
        refs.push(ms(t.elapsed()));
    }
    let t = Instant::now();
    let ws_first = conn
        .request("workspace/symbol", json!({"query": SYMBOL}), TIMEOUT)
        .await
        .unwrap_or_else(|e| fail(e));
    let cold_workspace_symbol = ms(t.elapsed());
    let mut workspace_symbol = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        conn.request("workspace/symbol", json!({"query": SYMBOL}), TIMEOUT)
            .await
            .unwrap_or_else(|e| fail(e));
        workspace_symbol.push(ms(t.elapsed()));
    }
    let _ = child.start_kill();
    Raw {
        cold_refs,
        refs,
        refs_bytes: last.to_string().len(),
        refs_count: last.as_array().map_or(0, Vec::len),
        cold_workspace_symbol,
        workspace_symbol,
        workspace_symbol_bytes: ws_first.to_string().len(),
    }
}

fn moto_dir() -> PathBuf {
    let lib = repo().join(".deps/venv/lib");
    std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("site-packages/moto"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| fail("no moto in .deps/venv; run scripts/setup-test-deps"))
}

fn definition_position(ws: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(ws.join(DEF_FILE)).unwrap_or_else(|e| fail(e));
    let needle = format!("def {SYMBOL}(");
    for (i, l) in text.lines().enumerate() {
        if l.starts_with(&needle) {
            return (i as u64 + 1, 5);
        }
    }
    fail(format!("`{needle}` not found in {DEF_FILE}"))
}

/// Python files under `dir` that contain `word` as a whole word (a plain scan, no regex).
fn files_naming(dir: &Path, word: &str) -> Vec<PathBuf> {
    let out = Command::new("find")
        .arg(dir)
        .args(["-name", "*.py"])
        .output()
        .unwrap_or_else(|e| fail(e));
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(PathBuf::from)
        .filter(|p| {
            let text = std::fs::read(p).unwrap_or_default();
            text.windows(word.len()).enumerate().any(|(i, w)| {
                w == word.as_bytes()
                    && (i == 0 || !is_word(text[i - 1]))
                    && text.get(i + word.len()).is_none_or(|b| !is_word(*b))
            })
        })
        .collect()
}

fn count_py(dir: &Path) -> usize {
    let out = Command::new("find")
        .arg(dir)
        .args(["-name", "*.py"])
        .output()
        .unwrap_or_else(|e| fail(e));
    String::from_utf8_lossy(&out.stdout).lines().count()
}
