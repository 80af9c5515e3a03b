//! `fathom demo` (the README's first command) runs its scripted session to the end against
//! `examples/demo`, with the project-local language servers, and every step answers.

mod common;

use std::process::Command;

use common::{dep, fathom, repo};

#[test]
fn the_demo_session_runs_end_to_end() {
    dep("npm/node_modules/.bin/typescript-language-server");
    dep("npm/node_modules/.bin/pyright-langserver");
    let out = Command::new(fathom())
        .arg("demo")
        .current_dir(repo())
        .output()
        .expect("run fathom demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    for expected in [
        "2 definitions of monthly_total_cents (2 exact",
        "app/src/billing.ts:8 function monthly_total_cents",
        "jobs/billing_job.py:13 function monthly_total_cents",
        "3 references in 2 files",
        "3 function renderInvoice",
        "def monthly_total_cents(items: list[LineItem]) -> int",
        "infra/main.tf:36 class aws_db_instance.payments",
        "DANGEROUS",
        "2 integrations (0 broken)",
        "staging-aws aws `s3api list-buckets` (read) — exit 0",
        "approval required (id ",
        "fathom approve ",
        "is a read-only integration",
        "would change the integration's pinned identity",
        "reveals secrets",
        "chain intact",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
    // Errors shown are only those the script provokes on purpose (two code, four cloud).
    let errors = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("error: "))
        .count();
    assert!(errors <= 8, "unexpected errors in:\n{stdout}");
}
