//! Real `terraform` (1.0.3, from `.deps/terraform`) driving the test-only provider
//! `example.com/test/fathomtest` (built from `tests/provider` into `.deps/provider`), so tests
//! get real state files and plans. Everything comes from `scripts/setup-test-deps`.
//!
//! The provider is installed through `dev_overrides` in `.deps/terraform/terraformrc`, so no
//! `terraform init` is run (on 1.0.3 init would even fail: it still asks the registry host
//! `example.com` for the overridden provider). Every command prints the warning
//! "Provider development overrides are in effect"; that is expected.
//!
//! ```ignore
//! let tf = Tf::temp("db");
//! tf.write_main(r#"resource "fathomtest_bucket" "logs" { name = "logs" }"#);
//! tf.apply();
//! let state = tf.state(); // terraform.tfstate, version 4
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Scratch, dep};

/// Source address of the test provider, as `required_providers` names it.
pub const PROVIDER_SOURCE: &str = "example.com/test/fathomtest";

/// The `terraform` block and empty provider block every configuration starts with.
pub const HEADER: &str = r#"terraform {
  required_providers {
    fathomtest = {
      source = "example.com/test/fathomtest"
    }
  }
}

provider "fathomtest" {}
"#;

/// Default bound on one terraform command.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Name of the plan file `plan_json` writes in the working directory.
pub const PLAN_FILE: &str = "fathom.tfplan";

/// A terraform working directory plus the binaries and CLI config to drive it.
pub struct Tf {
    /// The root module directory (where `main.tf` and `terraform.tfstate` live).
    pub dir: PathBuf,
    /// `.deps/terraform/terraform`.
    pub bin: PathBuf,
    /// `.deps/terraform/terraformrc` (passed as `TF_CLI_CONFIG_FILE`).
    pub cli_config: PathBuf,
    /// Bound on each command; the process group is killed past it.
    pub timeout: Duration,
    _scratch: Option<Scratch>,
}

impl Tf {
    /// Drives terraform in `dir` (which must exist). Panics with the setup command when the
    /// terraform binary, its CLI config or the provider binary is missing.
    pub fn new(dir: &Path) -> Tf {
        let bin = dep("terraform/terraform");
        let cli_config = dep("terraform/terraformrc");
        dep("provider/terraform-provider-fathomtest");
        assert!(
            dir.is_dir(),
            "terraform working dir {} does not exist",
            dir.display()
        );
        Tf {
            dir: dir.to_path_buf(),
            bin,
            cli_config,
            timeout: DEFAULT_TIMEOUT,
            _scratch: None,
        }
    }

    /// A terraform working directory in a fresh scratch dir, removed when `Tf` is dropped.
    pub fn temp(tag: &str) -> Tf {
        let scratch = Scratch::new(&format!("tf-{tag}"));
        let mut tf = Tf::new(&scratch.path);
        tf._scratch = Some(scratch);
        tf
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Tf {
        self.timeout = timeout;
        self
    }

    /// Writes `main.tf` as [`HEADER`] followed by `body`.
    pub fn write_main(&self, body: &str) -> &Tf {
        self.write_file("main.tf", &format!("{HEADER}\n{body}"))
    }

    /// Writes any file (relative to the working dir), creating parents.
    pub fn write_file(&self, rel: &str, content: &str) -> &Tf {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self
    }

    /// A `terraform` command in the working dir with the test environment: the project's CLI
    /// config, `TF_IN_AUTOMATION=1`, `CHECKPOINT_DISABLE=1`, no prompts, and none of the
    /// caller's `TF_*` variables that would change behaviour.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TF_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1");
        // Own process group, so a timeout also stops the provider plugin terraform started.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd
    }

    /// Runs terraform with `args` and returns its output whatever the exit status; panics
    /// only when it cannot start or exceeds the timeout.
    pub fn try_run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        let shown = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = self
            .command(args)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        let mut out_pipe = child.stdout.take().expect("stdout");
        let mut err_pipe = child.stderr.take().expect("stderr");
        let out_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out_pipe.read_to_end(&mut buf);
            buf
        });
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err_pipe.read_to_end(&mut buf);
            buf
        });
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for terraform") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                let stderr = err_reader.join().unwrap_or_default();
                panic!(
                    "`terraform {shown}` in {} timed out after {:?}\n--- stderr ---\n{}",
                    self.dir.display(),
                    self.timeout,
                    String::from_utf8_lossy(&stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output {
            status,
            stdout: out_reader.join().unwrap_or_default(),
            stderr: err_reader.join().unwrap_or_default(),
        }
    }

    /// Runs terraform with `args`; panics with its stderr (and stdout) when it fails.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        let out = self.try_run(args);
        if !out.status.success() {
            let shown = args
                .iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            panic!(
                "`terraform {shown}` in {} failed ({})\n--- stderr ---\n{}\n--- stdout ---\n{}",
                self.dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr),
                tail(&String::from_utf8_lossy(&out.stdout), 4000),
            );
        }
        out
    }

    /// `terraform apply -auto-approve -input=false -no-color`.
    pub fn apply(&self) -> Output {
        self.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `terraform destroy -auto-approve -input=false -no-color`, not panicking on failure
    /// (destroying a protected database fails on purpose).
    pub fn try_destroy(&self) -> Output {
        self.try_run(&["destroy", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `terraform plan -out=<file>` (file relative to the working dir); returns its path.
    pub fn plan_file(&self, file: &str) -> PathBuf {
        let out_arg = format!("-out={file}");
        self.run(&["plan", "-input=false", "-no-color", &out_arg]);
        self.dir.join(file)
    }

    /// `terraform show -json <planfile>`: the JSON plan representation.
    pub fn show_plan_json(&self, plan: &Path) -> Value {
        let out = self.run(&[
            std::ffi::OsStr::new("show"),
            std::ffi::OsStr::new("-json"),
            std::ffi::OsStr::new("-no-color"),
            plan.as_os_str(),
        ]);
        parse_json(&out.stdout, "terraform show -json <plan>")
    }

    /// A saved plan ([`PLAN_FILE`]) shown as JSON: `plan -out`, then `show -json`.
    pub fn plan_json(&self) -> Value {
        let plan = self.plan_file(PLAN_FILE);
        self.show_plan_json(&plan)
    }

    /// `terraform plan -json`: the machine-readable UI stream, one JSON object per line
    /// (types on 1.0.3: version, diagnostic, refresh_start, refresh_complete,
    /// planned_change, change_summary).
    pub fn plan_stream(&self) -> Vec<Value> {
        let out = self.run(&["plan", "-json", "-input=false"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("plan -json line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// `terraform show -json`: the current state in its JSON representation.
    pub fn show_state_json(&self) -> Value {
        let out = self.run(&["show", "-json", "-no-color"]);
        parse_json(&out.stdout, "terraform show -json")
    }

    /// Path of the local state file.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join("terraform.tfstate")
    }

    /// The raw `terraform.tfstate` (format version 4), parsed.
    pub fn state(&self) -> Value {
        let path = self.state_path();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        parse_json(&bytes, &path.display().to_string())
    }
}

/// Text of a process output stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn parse_json(bytes: &[u8], what: &str) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "{what} did not print JSON ({e}):\n{}",
            tail(&String::from_utf8_lossy(bytes), 4000)
        )
    })
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}
