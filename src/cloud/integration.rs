//! One configured integration at run time: where its program is, whether its credentials are
//! there, and the exact argv and environment a call gets. The scope pins live here, applied
//! by fathom itself (the agent's own arguments may not touch them; see `classify`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::classify::{CliKind, Options};
use crate::config::{Access, IntegrationConfig};

/// Variables every child gets from fathom's environment (nothing secret).
const BASE_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER"];

/// What `cloud_integrations` reports of an integration's health.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Health {
    /// Absolute path of the program, when found.
    pub program: Option<String>,
    /// Every configured credential source is present (variables set, files readable).
    pub credentials_present: bool,
    /// What is wrong, one phrase each; empty when healthy.
    pub problems: Vec<String>,
}

/// A child's environment plus the secret values in it (for redacting its output).
pub struct ChildEnv {
    pub vars: Vec<(String, String)>,
    pub secrets: Vec<String>,
}

/// Why a call cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("`{program}` is not installed or not on PATH")]
    ProgramMissing { program: String },
    #[error("credential `{var}` is not available: {why}")]
    Credential { var: String, why: String },
}

/// An integration as configured, with helpers for running it.
#[derive(Debug, Clone)]
pub struct Integration {
    pub config: IntegrationConfig,
}

impl Integration {
    pub fn new(config: IntegrationConfig) -> Self {
        Self { config }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn cli(&self) -> CliKind {
        self.config.cli
    }

    pub fn access(&self) -> Access {
        self.config.access
    }

    /// Classifier options this integration implies.
    pub fn options(&self) -> Options {
        Options {
            allow_flags: self.config.allow_flags.clone(),
            namespace_pinned: self.config.namespace.is_some(),
        }
    }

    /// The pins in force, as `key=value` phrases (for listings and approval prompts).
    pub fn scope(&self) -> Vec<String> {
        let c = &self.config;
        let mut out = Vec::new();
        let mut pin = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push(format!("{k}={v}"));
            }
        };
        pin("profile", c.profile.clone());
        pin("region", c.region.clone());
        pin("endpoint", c.endpoint.clone());
        pin("project", c.project.clone());
        pin("account", c.account.clone());
        pin("subscription", c.subscription.clone());
        pin(
            "kubeconfig",
            c.kubeconfig.as_ref().map(|p| p.display().to_string()),
        );
        pin("context", c.context.clone());
        pin("namespace", c.namespace.clone());
        out
    }

    fn program_name(&self) -> &str {
        self.config
            .program
            .as_deref()
            .unwrap_or(self.config.cli.program())
    }

    /// Finds the program: a path (relative to the workspace) or a name on fathom's `PATH`.
    pub fn locate(&self, workspace: &Path) -> Option<PathBuf> {
        let name = self.program_name();
        if name.contains('/') {
            let p = workspace.join(name);
            return is_executable(&p).then_some(p);
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| is_executable(p))
    }

    /// Checks program and credentials without running anything.
    pub fn health(&self, workspace: &Path) -> Health {
        let program = self.locate(workspace);
        let mut problems = Vec::new();
        if program.is_none() {
            problems.push(format!("`{}` not found", self.program_name()));
        }
        let mut credentials_present = true;
        for (var, source) in &self.config.credentials {
            if let Err(why) = read_credential(source, workspace) {
                credentials_present = false;
                problems.push(format!("credential {var}: {why}"));
            }
        }
        if let Some(k) = &self.config.kubeconfig
            && !workspace.join(k).is_file()
        {
            problems.push(format!("kubeconfig {} not found", k.display()));
        }
        Health {
            program: program.map(|p| p.display().to_string()),
            credentials_present,
            problems,
        }
    }

    /// The full argv: program, the pins fathom adds, then the agent's arguments.
    pub fn argv(&self, program: &Path, args: &[String]) -> Vec<String> {
        let c = &self.config;
        let mut argv = vec![program.display().to_string()];
        let has = |flag: &str| {
            args.iter()
                .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
        };
        match c.cli {
            CliKind::Aws => {
                if let Some(e) = &c.endpoint {
                    argv.extend(["--endpoint-url".to_string(), e.clone()]);
                }
                // The agent's own `--output` (later on the line) wins.
                argv.extend(["--output".to_string(), "json".to_string()]);
            }
            CliKind::Kubectl => {
                if let Some(ctx) = &c.context {
                    argv.push(format!("--context={ctx}"));
                }
                if let Some(ns) = &c.namespace {
                    argv.push(format!("--namespace={ns}"));
                }
            }
            CliKind::Gcloud | CliKind::Az => {}
        }
        argv.extend(args.iter().cloned());
        match c.cli {
            CliKind::Gcloud if !has("--format") => argv.push("--format=json".to_string()),
            CliKind::Az => {
                if let Some(s) = &c.subscription {
                    argv.push(format!("--subscription={s}"));
                }
            }
            _ => {}
        }
        argv
    }

    /// The child's whole environment: basics, allow-listed variables, pins, credentials.
    pub fn child_env(&self, workspace: &Path) -> Result<ChildEnv, PrepareError> {
        let c = &self.config;
        let mut vars: Vec<(String, String)> = Vec::new();
        for name in BASE_ENV
            .iter()
            .copied()
            .chain(c.env.iter().map(String::as_str))
        {
            if let Ok(v) = std::env::var(name) {
                vars.push((name.to_string(), v));
            }
        }
        let mut set = |k: &str, v: &str| {
            vars.retain(|(n, _)| n != k);
            vars.push((k.to_string(), v.to_string()));
        };
        match c.cli {
            CliKind::Aws => {
                set("AWS_PAGER", "");
                set("AWS_CLI_AUTO_PROMPT", "off");
                if let Some(p) = &c.profile {
                    set("AWS_PROFILE", p);
                }
                if let Some(r) = &c.region {
                    set("AWS_REGION", r);
                    set("AWS_DEFAULT_REGION", r);
                }
                if let Some(e) = &c.endpoint {
                    set("AWS_ENDPOINT_URL", e);
                }
            }
            CliKind::Gcloud => {
                set("CLOUDSDK_CORE_DISABLE_PROMPTS", "1");
                if let Some(p) = &c.project {
                    set("CLOUDSDK_CORE_PROJECT", p);
                }
                if let Some(a) = &c.account {
                    set("CLOUDSDK_CORE_ACCOUNT", a);
                }
            }
            CliKind::Az => {
                set("AZURE_CORE_OUTPUT", "json");
                set("AZURE_CORE_NO_COLOR", "1");
                set("AZURE_CORE_COLLECT_TELEMETRY", "no");
            }
            CliKind::Kubectl => {
                if let Some(k) = &c.kubeconfig {
                    set("KUBECONFIG", &workspace.join(k).display().to_string());
                }
            }
        }
        let mut secrets = Vec::new();
        for (var, source) in &c.credentials {
            let value =
                read_credential(source, workspace).map_err(|why| PrepareError::Credential {
                    var: var.clone(),
                    why,
                })?;
            secrets.push(value.clone());
            vars.retain(|(n, _)| n != var);
            vars.push((var.clone(), value));
        }
        Ok(ChildEnv { vars, secrets })
    }
}

/// Reads one credential's value; the error never contains the value.
fn read_credential(
    source: &crate::config::CredentialSource,
    workspace: &Path,
) -> Result<String, String> {
    if let Some(var) = &source.env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(format!("variable {var} is not set")),
        };
    }
    if let Some(file) = &source.file {
        let path = workspace.join(file);
        return match std::fs::read_to_string(&path) {
            Ok(v) => Ok(v.trim_end_matches(['\n', '\r']).to_string()),
            Err(e) => Err(format!("cannot read {}: {}", file.display(), e.kind())),
        };
    }
    Err("no source configured".into())
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}
