//! fathom's text search beside ripgrep on a large generated tree.
//!
//! The tree (`target/bench-tree/`, generated once, deterministically) holds 20,000
//! source-like files (Rust, TypeScript, Python, Go) in nested directories, about 200 MB,
//! plus things both tools must skip: a gitignored directory and `*.log` files, a hidden
//! directory and binary files, all full of the needles.
//!
//! For each query, in interleaved rounds after a warm-up of the page cache:
//!   * fathom-lib: `fathom::code::search::search` called in-process, max_hits 100,000, so it
//!     scans the whole tree;
//!   * rg: `rg --no-heading -n [-F|-i -w] -e PATTERN target/bench-tree`, stdout drained
//!     through a pipe;
//!   * fathom-mcp: `tools/call code_search` (limit 500) over stdio to
//!     `target/release/fathom serve --workspace target/bench-tree`, initialised once; the
//!     figure is the request→response round trip.
//!
//!     cargo build --release
//!     cargo run --release --example bench_search -- [RUNS]     (default 10)
//!
//! Not a test: it prints figures and never asserts on them (a match-count mismatch between
//! fathom-lib and rg is flagged loudly in the output).

#[path = "bench_common/mod.rs"]
mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use common::{f1, f2, print_table, summarize};
use fathom::code::search::{CaseMode, Query, Scope, search};
use serde_json::{Value, json};

const DEFAULT_RUNS: usize = 10;
const MAX_RUNS: usize = 100;
const TARGET_RATIO: f64 = 1.3;
const MAX_HITS: usize = 100_000;
const MCP_LIMIT: u32 = 500;
const TIMEOUT: Duration = Duration::from_secs(120);
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024; // fathom's default search.max_file_bytes

// ---------------------------------------------------------------------------------------
// The generated tree

/// Bump when the generator changes, so an old tree is replaced.
const TREE_VERSION: &str = "bench-tree v2";
const PACKAGES: usize = 40;
const MODULES: usize = 10;
const FILES_PER_MODULE: usize = 50; // 40 × 10 × 50 = 20,000 searched files

const NEEDLE_FIXED: &str = "ERR_LEDGER_DRIFT";
const NEEDLE_REGEX: &str = r"fn\s+\w+_total\(";
const NEEDLE_WORD: &str = "kestrel";

const WORDS: &[&str] = &[
    "account", "amount", "balance", "batch", "buffer", "cache", "charge", "client", "config",
    "context", "count", "cursor", "customer", "delta", "entry", "event", "fetch", "filter",
    "handle", "index", "invoice", "item", "journal", "key", "ledger", "limit", "line", "load",
    "merge", "meta", "month", "node", "offset", "order", "owner", "page", "parse", "payment",
    "period", "plan", "price", "queue", "rate", "record", "region", "report", "request", "result",
    "retry", "route", "schema", "scope", "session", "state", "store", "stream", "tax", "tenant",
    "token", "usage", "value", "window",
];

/// SplitMix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn word(&mut self) -> &'static str {
        WORDS[self.below(WORDS.len())]
    }
}

fn cap(w: &str) -> String {
    let mut c = w.chars();
    c.next().map_or(String::new(), |f| {
        f.to_ascii_uppercase().to_string() + c.as_str()
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Lang {
    Rust,
    Ts,
    Py,
    Go,
}

impl Lang {
    fn ext(self) -> &'static str {
        match self {
            Lang::Rust => "rs",
            Lang::Ts => "ts",
            Lang::Py => "py",
            Lang::Go => "go",
        }
    }
}

/// One ordinary line of code in `lang`. Never contains a needle: no `_total(` after `fn`,
/// no `kestrel`, no `ERR_LEDGER_DRIFT`.
fn code_line(rng: &mut Rng, lang: Lang, out: &mut String) {
    let (a, b, c, d) = (rng.word(), rng.word(), rng.word(), rng.word());
    let n = rng.below(10_000);
    let line = match (lang, rng.below(8)) {
        (Lang::Rust, 0) => format!(
            "pub fn {a}_{b}(input: &{}, limit: usize) -> Result<{}, Error> {{",
            cap(c),
            cap(d)
        ),
        (Lang::Rust, 1) => format!("    let {a}_{b} = self.{c}.{d}_by_key(&{a}, {n})?;"),
        (Lang::Rust, 2) => format!("    // {a} {b} {c} {d}: keep the {c} in step with the {a}"),
        (Lang::Rust, 3) => format!(
            "    if {a}.{b}() > {n} {{ return Err(Error::{}({c}_{d})); }}",
            cap(b)
        ),
        (Lang::Rust, 4) => {
            format!("    let total = {a}.iter().map(|x| x.{b}_{c}).sum::<u64>() + {n};")
        }
        (Lang::Rust, 5) => format!(
            "    fn {a}_{b}_subtotals(&self) -> Vec<{}> {{ Vec::new() }}",
            cap(c)
        ),
        (Lang::Rust, 6) => "}".to_string(),
        (Lang::Rust, _) => format!(
            "    self.{a}.insert({b}_{c}.clone(), {d}::{}::new({n}));",
            cap(a)
        ),
        (Lang::Ts, 0) => format!(
            "export function {a}{}({c}: {}, limit = {n}): {}[] {{",
            cap(b),
            cap(c),
            cap(d)
        ),
        (Lang::Ts, 1) => format!("  const {a}{} = await this.{c}.{d}({a}, {n});", cap(b)),
        (Lang::Ts, 2) => format!("  // {a} {b} {c} {d}: the {c} follows the {a}"),
        (Lang::Ts, 3) => format!(
            "  if ({a}.{b} > {n}) {{ throw new {}Error(\"{c} {d}\"); }}",
            cap(b)
        ),
        (Lang::Ts, 4) => format!(
            "  const total = {a}.reduce((s, x) => s + x.{b}{}, {n});",
            cap(c)
        ),
        (Lang::Ts, 5) => "}".to_string(),
        (Lang::Ts, _) => format!("  this.{a}.set({b}.{c}, new {}({n}));", cap(d)),
        (Lang::Py, 0) => format!("def {a}_{b}({c}, limit={n}):"),
        (Lang::Py, 1) => format!("    {a}_{b} = self.{c}.{d}({a}, {n})"),
        (Lang::Py, 2) => format!("    # {a} {b} {c} {d}: the {c} follows the {a}"),
        (Lang::Py, 3) => format!(
            "    if {a}.{b} > {n}:\n        raise {}Error(\"{c} {d}\")",
            cap(b)
        ),
        (Lang::Py, 4) => format!("    total = sum(x.{b}_{c} for x in {a}) + {n}"),
        (Lang::Py, 5) => format!("def {a}_total(items):"),
        (Lang::Py, _) => format!("    self.{a}[{b}.{c}] = {}({n})", cap(d)),
        (Lang::Go, 0) => format!(
            "func ({a} *{}) {}{}(limit int) ({}, error) {{",
            cap(c),
            cap(a),
            cap(b),
            cap(d)
        ),
        (Lang::Go, 1) => format!("\t{a}{} := {c}.{}({a}, {n})", cap(b), cap(d)),
        (Lang::Go, 2) => format!("\t// {a} {b} {c} {d}: the {c} follows the {a}"),
        (Lang::Go, 3) => format!(
            "\tif {a}.{} > {n} {{\n\t\treturn nil, err{}\n\t}}",
            cap(b),
            cap(c)
        ),
        (Lang::Go, 4) => format!("\ttotal := {a}.{}() + {n}", cap(b)),
        (Lang::Go, 5) => "}".to_string(),
        (Lang::Go, _) => format!("\t{a}.{}[{b}] = {}{{N: {n}}}", cap(c), cap(d)),
    };
    out.push_str(&line);
    out.push('\n');
}

/// Lines that must match each query (or must not, for the near misses).
fn fixed_line(rng: &mut Rng) -> String {
    format!(
        "    log(\"{NEEDLE_FIXED}: {} drifted by {}\");\n",
        rng.word(),
        rng.below(1000)
    )
}
fn regex_line(rng: &mut Rng) -> String {
    format!("pub fn {}_total(items: &[u64]) -> u64 {{\n", rng.word())
}
fn word_line(rng: &mut Rng) -> String {
    let variant = ["kestrel", "Kestrel", "KESTREL"][rng.below(3)];
    format!(
        "    // see the {variant} notes before changing {}\n",
        rng.word()
    )
}
fn near_miss_line(rng: &mut Rng) -> String {
    let variant = [
        "kestrels",
        "kestrel_id",
        "KestrelConfig",
        "nonkestrel",
        "kestrel2",
    ][rng.below(5)];
    format!(
        "    let x = {variant}.{}; // fn total(x) ERR_LEDGER drift\n",
        rng.word()
    )
}

/// Contents of searched file number `i`.
fn source_file(i: usize, lang: Lang) -> Vec<u8> {
    let mut rng = Rng(0xF47_0000 + i as u64);
    let size = 2_000 + rng.below(16_000);
    let mut out = String::with_capacity(size + 200);
    let mut extras: Vec<String> = Vec::new();
    if i % 541 == 17 {
        extras.push(fixed_line(&mut rng));
    }
    if lang == Lang::Rust && (i / 4) % 151 == 7 {
        extras.push(regex_line(&mut rng));
    }
    if i % 397 == 3 {
        extras.push(word_line(&mut rng));
    }
    if i % 211 == 9 {
        extras.push(near_miss_line(&mut rng));
    }
    // Where each extra goes: a byte offset in the file, in order.
    let mut at: Vec<usize> = extras.iter().map(|_| rng.below(size)).collect();
    at.sort_unstable();
    let mut next = 0;
    while out.len() < size {
        while next < extras.len() && out.len() >= at[next] {
            out.push_str(&extras[next]);
            next += 1;
        }
        code_line(&mut rng, lang, &mut out);
    }
    for e in &extras[next..] {
        out.push_str(e);
    }
    out.into_bytes()
}

/// A file both tools must skip (ignored, hidden): needles on every few lines.
fn needle_file(i: usize) -> Vec<u8> {
    let mut rng = Rng(0xBAD_0000 + i as u64);
    let mut out = String::new();
    for _ in 0..200 {
        out.push_str(&fixed_line(&mut rng));
        out.push_str(&regex_line(&mut rng));
        out.push_str(&word_line(&mut rng));
        code_line(&mut rng, Lang::Rust, &mut out);
    }
    out.into_bytes()
}

/// Generates the tree unless a complete one of this version is present. Returns
/// (searched files, bytes of searched files).
fn ensure_tree(root: &Path) -> (usize, u64) {
    let stamp = root.with_extension("stamp");
    if let Ok(text) = std::fs::read_to_string(&stamp)
        && let Some(rest) = text.strip_prefix(TREE_VERSION)
    {
        let mut it = rest.split_whitespace();
        if let (Some(Ok(files)), Some(Ok(bytes))) =
            (it.next().map(str::parse), it.next().map(str::parse))
            && root.is_dir()
        {
            return (files, bytes);
        }
    }
    eprintln!("generating {} (once; about 200 MB) ...", root.display());
    let t = Instant::now();
    let _ = std::fs::remove_file(&stamp);
    if root.exists() {
        std::fs::remove_dir_all(root)
            .unwrap_or_else(|e| common::fail(format!("cannot remove {}: {e}", root.display())));
    }
    let write = |rel: &str, data: &[u8]| {
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| common::fail(format!("mkdir {}: {e}", parent.display())));
        }
        std::fs::write(&p, data)
            .unwrap_or_else(|e| common::fail(format!("write {}: {e}", p.display())));
    };
    write(".gitignore", b"generated/\n*.log\n"); // hidden itself, so never searched
    let mut files = 0usize;
    let mut bytes = 0u64;
    let langs = [Lang::Rust, Lang::Ts, Lang::Py, Lang::Go];
    let mut i = 0;
    for p in 0..PACKAGES {
        for m in 0..MODULES {
            for f in 0..FILES_PER_MODULE {
                let lang = langs[i % 4];
                let data = source_file(i, lang);
                write(
                    &format!("src/pkg_{p:02}/mod_{m}/file_{f:03}.{}", lang.ext()),
                    &data,
                );
                files += 1;
                bytes += data.len() as u64;
                i += 1;
            }
        }
    }
    // Skipped by both tools: gitignored directory and extension, hidden directory, binaries.
    for k in 0..200 {
        write(&format!("generated/gen_{k:03}.rs"), &needle_file(k));
    }
    for k in 0..10 {
        write(&format!("logs/run_{k}.log"), &needle_file(1000 + k));
    }
    for k in 0..10 {
        write(&format!(".cache/entry_{k}.rs"), &needle_file(2000 + k));
    }
    for k in 0..6 {
        let mut data = vec![0u8, 1, 2, 3, 0xff, 0xfe, 0];
        data.extend(needle_file(3000 + k));
        data.extend([0u8; 64]);
        write(&format!("assets/blob_{k}.bin"), &data);
    }
    std::fs::write(&stamp, format!("{TREE_VERSION} {files} {bytes}\n"))
        .unwrap_or_else(|e| common::fail(format!("write {}: {e}", stamp.display())));
    eprintln!(
        "generated {files} searched files, {:.0} MB, in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    (files, bytes)
}

// ---------------------------------------------------------------------------------------
// The three contenders

struct Case {
    name: &'static str,
    pattern: &'static str,
    literal: bool,
    case: CaseMode,
    whole_word: bool,
    rg_flags: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "fixed string",
        pattern: NEEDLE_FIXED,
        literal: true,
        case: CaseMode::Sensitive,
        whole_word: false,
        rg_flags: &["-F"],
    },
    Case {
        name: "regex",
        pattern: NEEDLE_REGEX,
        literal: false,
        case: CaseMode::Sensitive,
        whole_word: false,
        rg_flags: &[],
    },
    Case {
        name: "word, ignore case",
        pattern: NEEDLE_WORD,
        literal: false,
        case: CaseMode::Insensitive,
        whole_word: true,
        rg_flags: &["-i", "-w"],
    },
];

fn rg_args(case: &Case) -> Vec<String> {
    let mut args: Vec<String> = vec!["--no-heading".into(), "-n".into()];
    args.extend(case.rg_flags.iter().map(|s| s.to_string()));
    args.extend(["-e".into(), case.pattern.into(), "target/bench-tree".into()]);
    args
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// One rg run: (ms, matching lines).
fn run_rg(rg: &Path, case: &Case) -> (f64, usize) {
    let t = Instant::now();
    let mut child = Command::new(rg)
        .args(rg_args(case))
        .current_dir(common::repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| common::fail(format!("cannot run rg: {e}")));
    let mut stdout = child.stdout.take().expect("piped");
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 0usize;
    loop {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count(),
        }
    }
    let status = common::wait_exit(&mut child, TIMEOUT)
        .unwrap_or_else(|| common::fail("rg did not finish in time"));
    let took = common::ms(t.elapsed());
    if !matches!(status.code(), Some(0 | 1)) {
        common::fail(format!("rg failed: {status}"));
    }
    (took, lines)
}

struct LibRun {
    ms: f64,
    hits: usize,
    files: usize,
    interrupted: bool,
}

fn run_lib(root: &Path, case: &Case) -> LibRun {
    let query = Query {
        pattern: case.pattern.into(),
        literal: case.literal,
        case: case.case,
        whole_word: case.whole_word,
        include: vec![],
        exclude: vec![],
    };
    let scope = Scope {
        root: root.to_path_buf(),
        start: root.to_path_buf(),
        max_file_bytes: MAX_FILE_BYTES,
        max_hits: MAX_HITS,
        resume: None,
        deadline: Instant::now() + TIMEOUT,
    };
    let t = Instant::now();
    let outcome = search(&query, &scope, &AtomicBool::new(false))
        .unwrap_or_else(|e| common::fail(format!("fathom search: {e}")));
    LibRun {
        ms: common::ms(t.elapsed()),
        hits: outcome.hits.len(),
        files: outcome.files_searched,
        interrupted: outcome.interrupted,
    }
}

/// Diagnostic: the file walk alone, with the walker settings fathom's search uses
/// (parallel `ignore` walk collecting paths, then a sort). Returns (ms, files).
fn run_walk_only(root: &Path, size_limit: bool) -> (f64, usize) {
    use ignore::{WalkBuilder, WalkState};
    let t = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let found = std::sync::Mutex::new(Vec::new());
    WalkBuilder::new(root)
        .standard_filters(true)
        .require_git(false)
        .follow_links(false)
        .max_filesize(size_limit.then_some(MAX_FILE_BYTES))
        .threads(threads)
        .build_parallel()
        .run(|| {
            let found = &found;
            Box::new(move |entry| {
                if let Ok(entry) = entry
                    && entry.file_type().is_some_and(|t| t.is_file())
                    && let Ok(mut v) = found.lock()
                {
                    v.push(entry.into_path());
                }
                WalkState::Continue
            })
        });
    let mut files = found.into_inner().unwrap_or_default();
    files.sort_unstable();
    (common::ms(t.elapsed()), files.len())
}

/// Diagnostic: `rg --files` (ripgrep's walk alone, names printed to a pipe).
fn run_rg_files(rg: &Path) -> (f64, usize) {
    let t = Instant::now();
    let out = Command::new(rg)
        .args(["--files", "target/bench-tree"])
        .current_dir(common::repo())
        .stderr(Stdio::null())
        .output()
        .unwrap_or_else(|e| common::fail(format!("cannot run rg: {e}")));
    (
        common::ms(t.elapsed()),
        out.stdout.iter().filter(|&&b| b == b'\n').count(),
    )
}

fn mcp_arguments(case: &Case) -> Value {
    json!({
        "query": case.pattern,
        "literal": case.literal,
        "case": match case.case {
            CaseMode::Smart => "smart",
            CaseMode::Sensitive => "sensitive",
            CaseMode::Insensitive => "insensitive",
        },
        "whole_word": case.whole_word,
        "limit": MCP_LIMIT,
    })
}

struct McpRun {
    ms: f64,
    matches: usize,
    complete: bool,
    files: usize,
}

fn run_mcp(peer: &mut common::StdioPeer, id: u64, case: &Case) -> McpRun {
    let request = json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": "code_search", "arguments": mcp_arguments(case)},
    });
    let t = Instant::now();
    peer.send(&request)
        .unwrap_or_else(|e| common::fail(format!("fathom mcp: {e}")));
    let (_, value) = peer
        .response(id, TIMEOUT)
        .unwrap_or_else(|e| common::fail(format!("fathom mcp: {e}")));
    let took = common::ms(t.elapsed());
    let result = value.get("result").cloned().unwrap_or(Value::Null);
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        common::fail(format!("fathom mcp: code_search failed: {result}"));
    }
    let s = result
        .get("structuredContent")
        .cloned()
        .unwrap_or(Value::Null);
    McpRun {
        ms: took,
        matches: s
            .get("matches")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        complete: s.get("complete").and_then(Value::as_bool).unwrap_or(false),
        files: s.get("files_searched").and_then(Value::as_u64).unwrap_or(0) as usize,
    }
}

fn main() {
    let runs = match std::env::args().nth(1) {
        None => DEFAULT_RUNS,
        Some(a) => match a.parse::<usize>() {
            Ok(n) if (1..=MAX_RUNS).contains(&n) => n,
            _ => common::fail(format!("usage: bench_search [RUNS 1..={MAX_RUNS}]")),
        },
    };
    let fathom_bin = common::fathom_bin();
    let rg = std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("rg"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| common::fail("rg is not on PATH: run scripts/setup-test-deps"));
    let repo = common::repo();
    let tree = repo.join("target/bench-tree");
    let (tree_files, tree_bytes) = ensure_tree(&tree);
    let root = tree
        .canonicalize()
        .unwrap_or_else(|e| common::fail(format!("{}: {e}", tree.display())));

    // The MCP server: the config only moves the audit log out of the tree and raises the
    // output budget so every match of these small answers comes back.
    let bench_dir = repo.join("target/bench-search");
    std::fs::create_dir_all(&bench_dir)
        .unwrap_or_else(|e| common::fail(format!("cannot create {}: {e}", bench_dir.display())));
    let audit = bench_dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&audit);
    std::fs::write(
        bench_dir.join("fathom.toml"),
        format!(
            "# written by examples/bench_search.rs\n[audit]\npath = {}\n\n[output]\nbudget_bytes = 1048576\n",
            json!(audit.display().to_string())
        ),
    )
    .unwrap_or_else(|e| common::fail(format!("cannot write the bench config: {e}")));
    let server_args = [
        "serve",
        "--workspace",
        "target/bench-tree",
        "--config",
        "target/bench-search/fathom.toml",
    ];
    let mut peer = common::StdioPeer::spawn(
        Command::new(&fathom_bin)
            .args(server_args)
            .current_dir(&repo),
    )
    .unwrap_or_else(|e| common::fail(e));
    peer.initialize(Duration::from_secs(20))
        .unwrap_or_else(|e| common::fail(format!("fathom mcp: {e}")));
    let mut next_id = 10u64;

    // Warm the page cache: every file read once by each tool.
    let warm = Instant::now();
    for case in CASES {
        run_rg(&rg, case);
        run_lib(&root, case);
    }
    let warm_s = warm.elapsed().as_secs_f64();
    let load_before = common::load_average();

    struct Series {
        lib: Vec<LibRun>,
        rg: Vec<(f64, usize)>,
        mcp: Vec<McpRun>,
    }
    let mut series: Vec<Series> = CASES
        .iter()
        .map(|_| Series {
            lib: Vec::new(),
            rg: Vec::new(),
            mcp: Vec::new(),
        })
        .collect();
    let started = Instant::now();
    for _ in 0..runs {
        for (case, s) in CASES.iter().zip(series.iter_mut()) {
            s.lib.push(run_lib(&root, case));
            s.rg.push(run_rg(&rg, case));
            next_id += 1;
            s.mcp.push(run_mcp(&mut peer, next_id, case));
        }
    }
    let mut walk = Vec::new();
    let mut walk_no_limit = Vec::new();
    let mut rg_walk = Vec::new();
    for _ in 0..runs {
        walk.push(run_walk_only(&root, true));
        walk_no_limit.push(run_walk_only(&root, false));
        rg_walk.push(run_rg_files(&rg));
    }
    let measured_s = started.elapsed().as_secs_f64();
    let load_after = common::load_average();
    let rg_files = rg_walk[0].1;
    let exit = peer.close_and_wait(Duration::from_secs(10));

    // ---- report
    println!("## bench_search\n");
    println!("command: {}", common::command_line("bench_search"));
    println!("machine: {}", common::machine_facts());
    println!("load:    {load_before} before, {load_after} after (1/5/15-min load average)");
    println!(
        "tree:    target/bench-tree: {tree_files} searched files, {:.0} MB (+ gitignored dir, \
         *.log, hidden dir and binaries holding the needles, which must be skipped)",
        tree_bytes as f64 / 1e6
    );
    println!(
        "rg:      {} ({}); fathom: target/release/fathom ({})",
        rg.display(),
        common::version_of(&rg, "--version"),
        common::version_of(&fathom_bin, "--version")
    );
    println!("fathom-lib: fathom::code::search::search in-process, max_hits {MAX_HITS}");
    println!(
        "fathom-mcp: target/release/fathom {} ; tools/call code_search limit {MCP_LIMIT}, \
         request→response over stdio (config: audit log moved out of the tree, \
         output.budget_bytes 1 MiB)",
        server_args.join(" ")
    );
    println!(
        "runs: {runs} per contender and query, interleaved, after one warm-up pass ({warm_s:.1} s); \
         measured part {measured_s:.1} s; files walked: fathom {} / rg --files {rg_files}",
        series[0].lib.first().map_or(0, |r| r.files)
    );
    println!("rg commands (cwd = repo root):");
    for case in CASES {
        let args: Vec<String> = rg_args(case).iter().map(|a| shell_quote(a)).collect();
        println!("  rg {}", args.join(" "));
    }
    println!();

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (case, s) in CASES.iter().zip(&series) {
        let lib = summarize(&s.lib.iter().map(|r| r.ms).collect::<Vec<_>>());
        let rgs = summarize(&s.rg.iter().map(|r| r.0).collect::<Vec<_>>());
        let mcp = summarize(&s.mcp.iter().map(|r| r.ms).collect::<Vec<_>>());
        let lib_hits = s.lib[0].hits;
        let rg_hits = s.rg[0].1;
        let mcp_hits = s.mcp[0].matches;
        if s.lib.iter().any(|r| r.hits != lib_hits) || s.rg.iter().any(|r| r.1 != rg_hits) {
            problems.push(format!("{}: match counts varied between runs", case.name));
        }
        if s.lib.iter().any(|r| r.interrupted) {
            problems.push(format!("{}: fathom-lib hit its deadline", case.name));
        }
        if lib_hits != rg_hits {
            problems.push(format!(
                "!!! MATCH COUNT MISMATCH for {}: fathom-lib {lib_hits} vs rg {rg_hits} !!!",
                case.name
            ));
        }
        if mcp_hits != lib_hits.min(MCP_LIMIT as usize) || !s.mcp[0].complete {
            problems.push(format!(
                "{}: fathom-mcp returned {mcp_hits} matches (complete: {}, files searched {}), \
                 fathom-lib {lib_hits}",
                case.name, s.mcp[0].complete, s.mcp[0].files
            ));
        }
        let ratio = lib.median / rgs.median;
        rows.push(vec![
            case.name.to_string(),
            shell_quote(case.pattern),
            f1(lib.median),
            f1(rgs.median),
            format!(
                "{} {}",
                f2(ratio),
                if ratio <= TARGET_RATIO { "ok" } else { "OVER" }
            ),
            format!("≤ {TARGET_RATIO}"),
            f2(lib.min / rgs.min),
            f1(mcp.median),
            format!("{}–{}", f1(lib.min), f1(lib.max)),
            format!("{}–{}", f1(rgs.min), f1(rgs.max)),
            format!(
                "{lib_hits} / {rg_hits} / {mcp_hits}{}",
                if lib_hits == rg_hits { "" } else { " MISMATCH" }
            ),
        ]);
    }
    print_table(
        &[
            "query",
            "pattern",
            "fathom-lib ms",
            "rg ms",
            "lib/rg",
            "target",
            "lib/rg of mins",
            "fathom-mcp ms",
            "lib min–max",
            "rg min–max",
            "matches lib / rg / mcp",
        ],
        &rows,
    );
    println!("(ms = median of {runs} runs; lib/rg = ratio of the medians)");
    let w = summarize(&walk.iter().map(|r| r.0).collect::<Vec<_>>());
    let wn = summarize(&walk_no_limit.iter().map(|r| r.0).collect::<Vec<_>>());
    let rw = summarize(&rg_walk.iter().map(|r| r.0).collect::<Vec<_>>());
    println!("\nwalk alone (no search), {runs} runs each:");
    let walk_rows = vec![
        vec![
            "fathom's walker settings (ignore crate; collect, sort)".to_string(),
            f1(w.median),
            f1(w.min),
            walk[0].1.to_string(),
        ],
        vec![
            "  the same without max_filesize (no stat per file)".to_string(),
            f1(wn.median),
            f1(wn.min),
            walk_no_limit[0].1.to_string(),
        ],
        vec![
            "rg --files".to_string(),
            f1(rw.median),
            f1(rw.min),
            rg_files.to_string(),
        ],
    ];
    print_table(&["walk", "median ms", "min ms", "files"], &walk_rows);
    println!(
        "fathom walks the whole tree before it searches any file; rg searches while it walks."
    );
    match exit {
        Some(s) if s.success() => {}
        other => problems.push(format!(
            "fathom mcp server exit after stdin closed: {other:?}"
        )),
    }
    if problems.is_empty() {
        println!("\nall match counts agree; the MCP answers were complete.");
    } else {
        println!();
        for p in problems {
            println!("{p}");
        }
    }
}
