//! The symbol tools against real language servers (typescript-language-server with
//! TypeScript 5, pyright) and a fault-injecting server, through a real MCP client.
//! Fixture projects are written by the tests: one symbol defined once, referenced a known
//! number of times, and also named in comments and strings that must not count.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    Client, Scratch, call, connect_with_env, dep, processes_in, processes_with_pids_in, text,
};
use serde_json::{Value, json};

/// `PATH` with the project-local language servers first.
fn path_with_servers() -> String {
    let bin = dep("npm/node_modules/.bin/typescript-language-server");
    let bin_dir = bin.parent().expect("bin dir").to_path_buf();
    dep("npm/node_modules/.bin/pyright-langserver");
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

async fn connect(ws: &Path, path_var: &str) -> Client {
    connect_with_env(ws, &[("PATH".into(), path_var.into())]).await
}

async fn ok(client: &Client, tool: &str, args: Value) -> (String, Value) {
    let r = call(client, tool, args.clone()).await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(false), "{tool} {args}: {t}");
    (t, r.structured_content.expect("structured content"))
}

/// Polls a query until the server has finished indexing (answers say `complete`).
async fn ok_complete(client: &Client, tool: &str, args: Value) -> (String, Value) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (t, s) = ok(client, tool, args.clone()).await;
        if s["complete"] == true || Instant::now() > deadline {
            return (t, s);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The single exact definition `code_where_is` reports for `symbol`: (path, line, answer).
async fn the_definition(client: &Client, symbol: &str) -> (String, u64, String) {
    let (t, s) = ok(client, "code_where_is", json!({ "symbol": symbol })).await;
    let exact: Vec<&Value> = s["definitions"]
        .as_array()
        .expect("definitions")
        .iter()
        .filter(|d| d["exact"] == true)
        .collect();
    assert_eq!(exact.len(), 1, "one definition of {symbol}: {t}");
    (
        exact[0]["path"].as_str().unwrap_or_default().to_string(),
        exact[0]["line"].as_u64().unwrap_or_default(),
        t,
    )
}

/// 1-based character column of `needle` in line `line` (1-based) of `text`.
fn col_of(text: &str, line: usize, needle: &str) -> u64 {
    let l = text.lines().nth(line - 1).expect("line");
    let byte = l.find(needle).expect("needle on line");
    l[..byte].chars().count() as u64 + 1
}

const TS_BILLING: &str = "\
// monthly_total_cents: the comment must not count as a reference.
export function monthly_total_cents(items: number[]): number {
  return items.reduce((a, b) => a + b, 0);
}

export class Invoice {
  total(): number {
    return monthly_total_cents([1, 2]);
  }
}

export class Quote {
  total(): number {
    return 0;
  }
}
";

const TS_INDEX: &str = "\
import { monthly_total_cents, Invoice, Quote } from \"./billing\";

const label = \"monthly_total_cents\"; // a string, not a reference
export const a = monthly_total_cents([1]) + new Invoice().total();
export const b = monthly_total_cents([2]) + new Quote().total();
export { label };
";

/// A non-ASCII line before the reference: columns must count characters, not UTF-16 units.
const TS_REPORT: &str = "\
import { monthly_total_cents } from \"./billing\";
export const naïve = \"😀\"; export const c = monthly_total_cents([3]);
";

/// Definition 1 + Invoice.total 1 + index imports/uses 3 + report import/use 2.
const TS_REFS: u64 = 7;

fn ts_project() -> Scratch {
    let ws = Scratch::new("sym-ts");
    ws.write(
        "tsconfig.json",
        r#"{"compilerOptions":{"strict":true,"target":"es2020","module":"commonjs"},"include":["src/**/*.ts"]}"#,
    )
    .write("package.json", r#"{"name":"billing","private":true}"#)
    .write("src/billing.ts", TS_BILLING)
    .write("src/index.ts", TS_INDEX)
    .write("src/report.ts", TS_REPORT);
    ws
}

#[tokio::test]
async fn typescript_where_is_references_definition_outline_hover() {
    let path_var = path_with_servers();
    let ws = ts_project();
    let client = connect(&ws.path, &path_var).await;

    let (t, s) = ok(
        &client,
        "code_where_is",
        json!({"symbol": "monthly_total_cents"}),
    )
    .await;
    let defs = s["definitions"].as_array().expect("definitions");
    let exact: Vec<&Value> = defs.iter().filter(|d| d["exact"] == true).collect();
    assert_eq!(exact.len(), 1, "one definition: {t}");
    assert_eq!(exact[0]["path"], "src/billing.ts");
    assert_eq!(exact[0]["line"], 2);
    assert_eq!(exact[0]["kind"], "function");
    assert!(
        t.contains("src/billing.ts:2 function monthly_total_cents"),
        "{t}"
    );

    let (t, s) = ok_complete(
        &client,
        "code_references",
        json!({"symbol": "monthly_total_cents"}),
    )
    .await;
    assert_eq!(s["total"], TS_REFS, "{t}");
    assert_eq!(s["complete"], true, "{t}");
    let files = s["files"].as_array().expect("files");
    let per_file: Vec<(String, u64)> = files
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        per_file,
        vec![
            ("src/billing.ts".to_string(), 2),
            ("src/index.ts".to_string(), 3),
            ("src/report.ts".to_string(), 2)
        ],
        "{t}"
    );
    for f in files {
        for r in f["refs"].as_array().unwrap() {
            let line = r["text"].as_str().unwrap();
            assert!(
                !line.starts_with("//") && !line.contains("const label"),
                "comment or string counted: {t}"
            );
        }
    }
    // Column after the emoji and the accented letter, in characters.
    let report_refs = &files[2]["refs"];
    let on_line_2 = report_refs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["line"] == 2)
        .expect("reference on the non-ASCII line");
    assert_eq!(
        on_line_2["column"],
        col_of(TS_REPORT, 2, "monthly_total_cents"),
        "{t}"
    );

    // Ambiguous name: numbered candidates, then pick.
    let (t, s) = ok(
        &client,
        "code_references",
        json!({"symbol": "total", "kind": "method"}),
    )
    .await;
    assert_eq!(s["status"], "ambiguous", "{t}");
    let candidates = s["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 2, "{t}");
    assert!(
        t.contains("1. src/billing.ts:7 method Invoice.total"),
        "{t}"
    );
    assert!(t.contains("2. src/billing.ts:13 method Quote.total"), "{t}");
    let (t, s) = ok_complete(
        &client,
        "code_references",
        json!({"symbol": "total", "kind": "method", "pick": 2}),
    )
    .await;
    assert_eq!(
        s["total"], 2,
        "Quote.total: its declaration and one call: {t}"
    );
    assert_eq!(s["files"][1]["refs"][0]["line"], 5, "{t}");

    // Definition from a use, across files, with the column of the identifier.
    let line4 = 4;
    let col = col_of(TS_INDEX, line4, "monthly_total_cents");
    let (t, s) = ok(
        &client,
        "code_definition",
        json!({"path": "src/index.ts", "line": line4, "column": col}),
    )
    .await;
    let d = &s["definitions"][0];
    assert_eq!(
        (d["path"].as_str(), d["line"].as_u64()),
        (Some("src/billing.ts"), Some(2)),
        "{t}"
    );
    assert_eq!(
        d["column"],
        col_of(TS_BILLING, 2, "monthly_total_cents"),
        "{t}"
    );

    // Hover shows the signature.
    let (t, _) = ok(
        &client,
        "code_hover",
        json!({"path": "src/report.ts", "line": 2, "column": col_of(TS_REPORT, 2, "monthly_total_cents")}),
    )
    .await;
    assert!(
        t.contains("monthly_total_cents(items: number[]): number"),
        "{t}"
    );

    // Outline: nested methods under their classes.
    let (t, s) = ok(&client, "code_outline", json!({"path": "src/billing.ts"})).await;
    assert!(t.contains("2 function monthly_total_cents"), "{t}");
    assert!(t.contains("\n6 class Invoice\n  7 method total"), "{t}");
    assert_eq!(s["complete"], true);

    // A reference by position (the use in report.ts) gives the same count.
    let (t, s) = ok_complete(
        &client,
        "code_references",
        json!({"path": "src/report.ts", "line": 2, "column": col_of(TS_REPORT, 2, "monthly_total_cents")}),
    )
    .await;
    assert_eq!(s["total"], TS_REFS, "{t}");

    // Files outside the workspace are refused.
    let r = call(&client, "code_outline", json!({"path": "../../etc/passwd"})).await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));

    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}

const PY_BILLING: &str = "\
# monthly_total_cents in a comment does not count
def monthly_total_cents(items):
    return sum(items)


class Invoice:
    def total(self):
        return monthly_total_cents([1, 2])
";

const PY_REPORT: &str = "\
from billing import monthly_total_cents

LABEL = \"monthly_total_cents\"  # a string
x = monthly_total_cents([2])
naïve = \"😀\"; y = monthly_total_cents([3])
";

/// Definition 1 + Invoice.total 1 + import 1 + two uses.
const PY_REFS: u64 = 5;

#[tokio::test]
async fn python_where_is_and_references_with_pyright() {
    let path_var = path_with_servers();
    let ws = Scratch::new("sym-py");
    ws.write("billing.py", PY_BILLING)
        .write("report.py", PY_REPORT)
        .write("pyrightconfig.json", "{}");
    let client = connect(&ws.path, &path_var).await;

    let (path, line, t) = the_definition(&client, "monthly_total_cents").await;
    assert_eq!((path.as_str(), line), ("billing.py", 2), "{t}");

    let (t, s) = ok(&client, "code_where_is", json!({"symbol": "Invoice.total"})).await;
    assert!(t.contains("billing.py:7 method Invoice.total"), "{t}");
    assert_eq!(s["definitions"][0]["exact"], true, "{t}");

    let (t, s) = ok_complete(
        &client,
        "code_references",
        json!({"symbol": "monthly_total_cents"}),
    )
    .await;
    assert_eq!(s["total"], PY_REFS, "{t}");
    let report = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "report.py")
        .expect("report.py");
    assert_eq!(report["count"], 3, "{t}");
    let on_line_5 = report["refs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["line"] == 5)
        .expect("line 5");
    assert_eq!(
        on_line_5["column"],
        col_of(PY_REPORT, 5, "monthly_total_cents"),
        "{t}"
    );

    // Fuzzy matches come after exact ones and are marked.
    let (t, s) = ok(&client, "code_where_is", json!({"symbol": "total_cents"})).await;
    assert_eq!(s["definitions"][0]["exact"], false, "{t}");
    assert!(
        t.contains("~ billing.py:2 function monthly_total_cents"),
        "{t}"
    );

    // An edit on disk is seen by the next query.
    ws.write("billing.py", format!("\n\n{PY_BILLING}"));
    let (t, _) = ok(
        &client,
        "code_where_is",
        json!({"symbol": "monthly_total_cents"}),
    )
    .await;
    assert!(
        t.contains("billing.py:4 function monthly_total_cents"),
        "stale answer: {t}"
    );

    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}

#[tokio::test]
async fn a_killed_language_server_is_restarted_for_the_next_query() {
    let path_var = path_with_servers();
    let ws = ts_project();
    let client = connect(&ws.path, &path_var).await;
    ok(&client, "code_outline", json!({"path": "src/billing.ts"})).await;
    let servers: Vec<(i32, String)> = processes_with_pids_in(&ws.path)
        .into_iter()
        .filter(|(_, c)| c.contains("typescript-language-server") || c.contains("tsserver"))
        .collect();
    assert!(!servers.is_empty(), "no language server process found");
    for (pid, _) in &servers {
        // SAFETY: kill(2) on a pid read from /proc; no memory involved.
        unsafe {
            libc_kill(*pid);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (t, s) = ok(&client, "code_where_is", json!({"symbol": "Invoice"})).await;
    assert_eq!(s["definitions"][0]["path"], "src/billing.ts", "{t}");
    let after: Vec<i32> = processes_with_pids_in(&ws.path)
        .into_iter()
        .filter(|(_, c)| c.contains("typescript-language-server"))
        .map(|(p, _)| p)
        .collect();
    assert!(
        !after.is_empty() && after.iter().all(|p| !servers.iter().any(|(q, _)| q == p)),
        "a new server runs: {after:?}"
    );
    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}

unsafe fn libc_kill(pid: i32) {
    unsafe extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    // SAFETY: the caller passes a pid; SIGKILL is 9.
    unsafe {
        kill(pid, 9);
    }
}

fn fault_workspace() -> Scratch {
    let bin = dep("fault-ls/fathom-fault-ls");
    let ws = Scratch::new("sym-fault");
    ws.write(
        "fathom.toml",
        format!(
            "[lsp]\nrequest_timeout_secs = 2\n\n[[lsp.server]]\nlanguage = \"fault\"\ncommand = [\"{}\"]\nextensions = [\"flt\"]\n",
            bin.display()
        ),
    )
    .write("good.flt", "def alpha\ndef beta\n")
    .write("stuck.flt", "def gamma HANG\n");
    ws
}

#[tokio::test]
async fn a_hung_server_times_out_clearly_and_is_restarted() {
    let ws = fault_workspace();
    let client = connect(&ws.path, &std::env::var("PATH").unwrap_or_default()).await;
    let (t, _) = ok(&client, "code_outline", json!({"path": "good.flt"})).await;
    assert!(t.contains("1 function alpha"), "{t}");
    let first: Vec<i32> = fault_pids(&ws.path);
    assert_eq!(first.len(), 1, "one server: {first:?}");

    let started = Instant::now();
    let r = call(&client, "code_outline", json!({"path": "stuck.flt"})).await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "{t}");
    assert!(
        t.contains("did not answer `textDocument/documentSymbol` within 2 s"),
        "{t}"
    );
    assert!(t.contains("restarted"), "{t}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered within its budget"
    );

    // Changed content, so the answer must come from the (restarted) server, not a cache.
    ws.write("good.flt", "def alpha\ndef beta\ndef epsilon\n");
    let (t, _) = ok(&client, "code_outline", json!({"path": "good.flt"})).await;
    assert!(t.contains("3 function epsilon"), "{t}");
    let second = fault_pids(&ws.path);
    assert_eq!(
        second.len(),
        1,
        "the hung server is gone, one new one runs: {second:?}"
    );
    assert_ne!(first, second);

    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}

#[tokio::test]
async fn a_crashing_server_gives_a_clear_error_and_recovers() {
    let ws = fault_workspace();
    ws.write("boom.flt", "def delta CRASH\n");
    let client = connect(&ws.path, &std::env::var("PATH").unwrap_or_default()).await;
    let r = call(&client, "code_outline", json!({"path": "boom.flt"})).await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "{t}");
    assert!(t.contains("exited"), "{t}");
    let (t, _) = ok(&client, "code_outline", json!({"path": "good.flt"})).await;
    assert!(t.contains("1 function alpha"), "{t}");
    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}

#[tokio::test]
async fn a_missing_server_names_what_to_install_and_other_tools_still_work() {
    let ws = Scratch::new("sym-missing");
    ws.write("app.py", "def handler(event):\n    return event\n");
    // A PATH without any language server.
    let client = connect(&ws.path, "/usr/bin:/bin").await;
    let r = call(&client, "code_where_is", json!({"symbol": "handler"})).await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "{t}");
    assert!(t.contains("no python language server is installed"), "{t}");
    assert!(t.contains("npm install -g pyright"), "{t}");
    let (t, _) = ok(&client, "code_search", json!({"query": "def handler"})).await;
    assert!(t.contains("app.py"), "{t}");
    client.cancel().await.ok();
}

fn fault_pids(ws: &Path) -> Vec<i32> {
    processes_with_pids_in(ws)
        .into_iter()
        .filter(|(_, c)| c.contains("fathom-fault-ls"))
        .map(|(p, _)| p)
        .collect()
}

/// After the client goes away fathom exits, and no language server may survive it.
async fn wait_gone(ws: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_in(ws);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "processes left behind: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const HCL_MAIN: &str = r#"variable "region" {
  default = "eu-west-1"
}

resource "aws_security_group" "db" {
  # aws_db_instance.payments in a comment is not a reference
  name = "payments-${var.region}"
}

resource "aws_db_instance" "payments" {
  count                  = 2
  vpc_security_group_ids = [aws_security_group.db.id]
  lifecycle {
    prevent_destroy = true
  }
}

module "vpc" {
  source = "./modules/vpc"
  region = var.region
}
"#;

const HCL_OUTPUTS: &str = r#"output "endpoint" {
  value = "${aws_db_instance.payments[0].endpoint}"
}

output "ids" {
  value = aws_db_instance.payments[*].id
}
"#;

#[tokio::test]
async fn hcl_symbols_come_from_fathoms_own_server_when_terraform_ls_is_absent() {
    let ws = Scratch::new("sym-hcl");
    ws.write("infra/main.tf", HCL_MAIN)
        .write("infra/outputs.tf", HCL_OUTPUTS)
        .write(
            "infra/modules/vpc/main.tf",
            "variable \"region\" {}\n\nresource \"aws_vpc\" \"main\" {\n  cidr_block = \"10.0.0.0/16\"\n}\n",
        );
    // No terraform-ls or tofu-ls on this PATH: fathom falls back to `fathom hcl-ls`.
    let client = connect(&ws.path, "/usr/bin:/bin").await;

    let (t, s) = ok(
        &client,
        "code_where_is",
        json!({"symbol": "aws_db_instance.payments"}),
    )
    .await;
    assert_eq!(s["definitions"][0]["path"], "infra/main.tf", "{t}");
    assert_eq!(s["definitions"][0]["line"], 10, "{t}");
    assert_eq!(s["definitions"][0]["exact"], true, "{t}");

    let (t, s) = ok(&client, "code_where_is", json!({"symbol": "var.region"})).await;
    let paths: Vec<&str> = s["definitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["exact"] == true)
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        vec!["infra/main.tf", "infra/modules/vpc/main.tf"],
        "{t}"
    );

    let (t, s) = ok(
        &client,
        "code_references",
        json!({"symbol": "aws_db_instance.payments"}),
    )
    .await;
    // The declaration and two uses in outputs.tf; the comment does not count.
    assert_eq!(s["total"], 3, "{t}");
    assert!(t.contains("infra/outputs.tf (2)"), "{t}");

    let (t, _) = ok(&client, "code_outline", json!({"path": "infra/main.tf"})).await;
    assert!(t.contains("10 class aws_db_instance.payments"), "{t}");
    assert!(t.contains("18 module module.vpc"), "{t}");

    let (t, _) = ok(
        &client,
        "code_hover",
        json!({"path": "infra/outputs.tf", "line": 6, "column": 12}),
    )
    .await;
    assert!(t.contains("prevent_destroy"), "{t}");

    let (t, s) = ok(
        &client,
        "code_definition",
        json!({"path": "infra/outputs.tf", "line": 6, "column": 12}),
    )
    .await;
    assert_eq!(s["definitions"][0]["path"], "infra/main.tf", "{t}");
    assert_eq!(s["definitions"][0]["line"], 10, "{t}");
    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}

/// The `main.tf` files of the OpenTofu corpus through `code_outline` and `code_where_is`:
/// every `resource` block is a symbol (independent count: lines opening a resource block).
#[tokio::test]
async fn corpus_configurations_through_the_code_tools() {
    let corpus = std::env::var("FATHOM_CORPUS").unwrap_or_else(|_| {
        panic!("FATHOM_CORPUS is not set: point it at ../shared/fixtures (scripts/test does)")
    });
    let dir = Path::new(&corpus).join("opentofu-show-json");
    let ws = Scratch::new("sym-hclcorpus");
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with("main.tf") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let rel = format!("m{}/main.tf", files.len());
        ws.write(&rel, &text);
        files.push((rel, text));
    }
    assert!(
        files.len() >= 10,
        "only {} corpus configurations",
        files.len()
    );
    let client = connect(&ws.path, "/usr/bin:/bin").await;
    let (mut expected, mut got) = (0, 0);
    for (rel, text) in &files {
        let headers: Vec<(usize, String)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("resource \""))
            .map(|(i, l)| {
                let parts: Vec<&str> = l.split('"').collect();
                (i + 1, format!("{}.{}", parts[1], parts[3]))
            })
            .collect();
        expected += headers.len();
        let (t, s) = ok(&client, "code_outline", json!({"path": rel})).await;
        got += s["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["kind"] == "class")
            .count();
        // Each resource is found by address, at its line.
        if let Some((line, address)) = headers.first() {
            let (t2, s2) = ok(
                &client,
                "code_where_is",
                json!({"symbol": address, "path": rel.trim_end_matches("/main.tf")}),
            )
            .await;
            assert_eq!(s2["definitions"][0]["line"], *line as u64, "{t}\n{t2}");
        }
    }
    assert!(
        expected >= 10,
        "the corpus should declare resources, found {expected}"
    );
    assert_eq!(
        got,
        expected,
        "resource symbols across {} corpus files",
        files.len()
    );
    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}

/// TypeScript 7's own server (`tsc --lsp --stdio`), chosen when typescript-language-server is
/// absent and `tsc --version` says 7: same answers, import bindings not counted as definitions.
#[tokio::test]
async fn typescript_7_tsc_lsp_is_used_when_typescript_language_server_is_absent() {
    let tsc = dep("ts7/node_modules/.bin/tsc");
    let path_var = format!("{}:/usr/bin:/bin", tsc.parent().unwrap().display());
    let ws = ts_project();
    let client = connect(&ws.path, &path_var).await;
    // Imports (listed as symbols by TypeScript 7) are not definitions.
    let (path, line, t) = the_definition(&client, "monthly_total_cents").await;
    assert_eq!((path.as_str(), line), ("src/billing.ts", 2), "{t}");
    let (t, s) = ok_complete(
        &client,
        "code_references",
        json!({"symbol": "monthly_total_cents"}),
    )
    .await;
    assert_eq!(s["total"], TS_REFS, "{t}");
    assert!(
        processes_in(&ws.path).iter().any(|c| c.contains("--lsp")),
        "tsc --lsp is the server"
    );
    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}

#[tokio::test]
async fn content_modified_is_retried_and_warm_servers_start_with_serve() {
    let ws = fault_workspace();
    let config = std::fs::read_to_string(ws.join("fathom.toml")).unwrap();
    ws.write(
        "fathom.toml",
        config.replace("[lsp]\n", "[lsp]\nwarm = [\"fault\"]\n"),
    )
    .write("flaky.flt", "def zeta FLAKY\n");
    let client = connect(&ws.path, &std::env::var("PATH").unwrap_or_default()).await;
    // Warmed at start: the server runs before any query.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fault_pids(&ws.path).is_empty() {
        assert!(
            Instant::now() < deadline,
            "lsp.warm did not start the server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The first documentSymbol answer is ContentModified; the retry gets the symbols.
    let (t, _) = ok(&client, "code_outline", json!({"path": "flaky.flt"})).await;
    assert!(t.contains("1 function zeta"), "{t}");
    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}

const RS_BILLING: &str = "\
/// monthly_total_cents in a doc comment does not count.
pub fn monthly_total_cents(items: &[u64]) -> u64 {
    items.iter().sum()
}
";

const RS_LIB: &str = "\
pub mod billing;

pub fn report() -> String {
    let label = \"monthly_total_cents\";
    format!(\"{label}: {}\", billing::monthly_total_cents(&[1, 2]))
}

pub fn naïve() -> u64 { let s = \"😀\"; s.len() as u64 + billing::monthly_total_cents(&[3]) }
";

/// rust-analyzer reports `experimental/serverStatus`; answers wait until it is quiescent.
#[tokio::test]
async fn rust_analyzer_where_is_and_references_once_quiescent() {
    let ra = which("rust-analyzer");
    let ws = Scratch::new("sym-rs");
    ws.write(
        "Cargo.toml",
        "[package]\nname = \"billing\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .write("src/lib.rs", RS_LIB)
    .write("src/billing.rs", RS_BILLING);
    let path_var = format!(
        "{}:{}",
        ra.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let client = connect(&ws.path, &path_var).await;
    let (path, line, t) = the_definition(&client, "monthly_total_cents").await;
    assert_eq!((path.as_str(), line), ("src/billing.rs", 2), "{t}");
    let (t, s) = ok_complete(
        &client,
        "code_references",
        json!({"symbol": "monthly_total_cents"}),
    )
    .await;
    assert_eq!(s["total"], 3, "declaration and two calls: {t}");
    let lib = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "src/lib.rs")
        .expect("src/lib.rs");
    let on_8 = lib["refs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["line"] == 8)
        .expect("line 8");
    assert_eq!(
        on_8["column"],
        col_of(RS_LIB, 8, "monthly_total_cents"),
        "{t}"
    );
    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}

/// A program on `PATH`; fails with the setup command when it is missing.
fn which(program: &str) -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH; run `{}` first", common::SETUP))
}

const K8S_WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: web\n          image: registry.example/web:1.4\n";

/// yaml-language-server answers outlines and where_is for YAML (Kubernetes manifests, CI
/// files); its keys are the symbols.
#[tokio::test]
async fn yaml_outline_and_where_is_through_yaml_language_server() {
    let bin = dep("npm/node_modules/.bin/yaml-language-server");
    let ws = Scratch::new("sym-yaml");
    ws.write("deploy/web.yaml", K8S_WEB);
    let path_var = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let client = connect(&ws.path, &path_var).await;
    let (t, _) = ok_complete(&client, "code_outline", json!({"path": "deploy/web.yaml"})).await;
    for key in ["apiVersion", "metadata", "spec", "replicas", "containers"] {
        assert!(t.contains(key), "{key} missing from the outline: {t}");
    }
    let (path, line, t) = the_definition(&client, "replicas").await;
    assert_eq!((path.as_str(), line), ("deploy/web.yaml", 6), "{t}");
    client.cancel().await.ok();
    wait_gone(&ws.path).await;
}
