//! `fathom.toml`: everything an operator can set, with defaults that make zero
//! configuration safe (loopback only, no auth needed there, audit on, all read toolsets on).
//!
//! Unknown keys and bad values are start-up errors that name the file, line and key, because
//! a silently ignored typo in a security setting is worse than not starting.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::toolset::Toolset;

/// Name of the configuration file looked up in the workspace root.
pub const CONFIG_FILE_NAME: &str = "fathom.toml";

/// Default output budget per tool answer, in bytes of rendered text.
pub const DEFAULT_OUTPUT_BUDGET: usize = 16 * 1024;

/// Errors found while loading configuration; each names where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Limits that apply to every tool answer.
    pub output: OutputConfig,
    /// Which families of tools are published.
    pub toolsets: ToolsetsConfig,
    /// Streamable HTTP transport settings.
    pub http: HttpConfig,
    /// Audit log settings.
    pub audit: AuditConfig,
    /// Extra secrets to scrub from every output.
    pub redact: RedactConfig,
    /// Text search settings.
    pub search: SearchConfig,
    /// Limits for reading stack state.
    pub state: StateConfig,
    /// How previews run.
    pub preview: PreviewConfig,
    /// Risk rule settings.
    pub risk: RiskConfig,
    /// Stacks declared explicitly (`[[stack]]`), in addition to the discovered ones.
    #[serde(rename = "stack")]
    pub stacks: Vec<StackConfig>,
    pub lsp: LspConfig,
    /// Named, scoped cloud CLI integrations (`[[integration]]`); none by default.
    #[serde(rename = "integration")]
    pub integrations: Vec<IntegrationConfig>,
    /// How human approvals of writes work.
    pub approvals: ApprovalsConfig,
}

/// Whether an integration may ever write.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Reads only; every write is refused.
    #[default]
    Read,
    /// Reads run; each write runs only after a human approves that exact command.
    Write,
}

/// Where one credential variable handed to the CLI comes from. Exactly one source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSource {
    /// Name of a variable in fathom's own environment.
    pub env: Option<String>,
    /// A file whose contents (trailing newline trimmed) are the value.
    pub file: Option<PathBuf>,
}

/// One `[[integration]]`: a CLI with its scope pinned (account, region, project, context…).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    /// Name agents pass to `cloud_run`, e.g. `staging-aws`.
    pub name: String,
    pub cli: crate::cloud::classify::CliKind,
    #[serde(default)]
    pub access: Access,
    /// Program to run (default: the CLI's name on `PATH`).
    #[serde(default)]
    pub program: Option<String>,
    /// aws: profile, region, endpoint (`--endpoint-url`).
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    /// gcloud: project and account.
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    /// az: subscription.
    #[serde(default)]
    pub subscription: Option<String>,
    /// kubectl: kubeconfig file, context and namespace.
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// Command-word patterns allowed (`ec2 describe-*`); empty allows every command.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Command-word patterns refused; deny wins over allow.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Secret-revealing reads permitted (each still needs a human's approval).
    #[serde(default)]
    pub secret_reads: Vec<String>,
    /// Scope flags the agent may pass after all, e.g. `["--region"]`.
    #[serde(default)]
    pub allow_flags: Vec<String>,
    /// Variables passed through from fathom's environment besides the basic ones.
    #[serde(default)]
    pub env: Vec<String>,
    /// Variables handed only to the child, e.g. `AWS_SECRET_ACCESS_KEY = { env = "STAGING_KEY" }`.
    #[serde(default)]
    pub credentials: std::collections::BTreeMap<String, CredentialSource>,
    #[serde(default = "default_cloud_timeout")]
    pub timeout_secs: u64,
    /// Bytes kept from each of stdout and stderr.
    #[serde(default = "default_cloud_max_output")]
    pub max_output_bytes: usize,
}

fn default_cloud_timeout() -> u64 {
    60
}

fn default_cloud_max_output() -> usize {
    1024 * 1024
}

/// Human approvals of writes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalsConfig {
    /// How long a requested approval stays valid.
    pub ttl_secs: u64,
    /// Folder of approval records, relative to the workspace.
    pub dir: PathBuf,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        Self {
            ttl_secs: 600,
            dir: PathBuf::from(".fathom/approvals"),
        }
    }
}

/// Language servers behind the symbol tools.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LspConfig {
    /// Time allowed for one request to a language server; past it the server counts as hung
    /// and is restarted.
    pub request_timeout_secs: u64,
    /// How long a query waits for a server still indexing before answering `partial`.
    pub ready_wait_secs: u64,
    /// Documents kept open per server (least recently used are closed first).
    pub max_open_documents: usize,
    /// Languages whose servers start with `serve` instead of on first use.
    pub warm: Vec<String>,
    /// Servers that replace a built-in choice or add a language.
    #[serde(rename = "server")]
    pub servers: Vec<LspServerConfig>,
}

impl Default for LspConfig {
    fn default() -> Self {
        Self {
            request_timeout_secs: 20,
            ready_wait_secs: 15,
            max_open_documents: 64,
            warm: Vec::new(),
            servers: Vec::new(),
        }
    }
}

/// One `[[lsp.server]]`: the command for a language, e.g. `["fathom", "hcl-ls"]` for HCL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LspServerConfig {
    /// A built-in language (typescript, python, rust, go, hcl, yaml) or a new name.
    pub language: String,
    /// Program and arguments; `fathom` means this binary.
    pub command: Vec<String>,
    /// File extensions it serves (defaults to the built-in language's).
    #[serde(default)]
    pub extensions: Vec<String>,
    /// `languageId` sent in `didOpen` (defaults to the language name).
    #[serde(default)]
    pub language_id: Option<String>,
}

/// Limits for reading stack state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// State documents larger than this are refused with a clear message.
    pub max_bytes: u64,
    /// Time allowed for `terraform show -json` / `pulumi stack export`.
    pub cli_timeout_secs: u64,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024 * 1024,
            cli_timeout_secs: 120,
        }
    }
}

/// How previews (plans) run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreviewConfig {
    /// Time allowed for one plan; past it the engine is interrupted, then killed.
    pub timeout_secs: u64,
    /// Time an interrupted engine gets to release its state lock before it is killed.
    pub interrupt_grace_secs: u64,
    /// Keep state locking on so a preview cannot race an apply.
    pub lock: bool,
    /// Program run for Terraform roots.
    pub terraform_program: String,
    /// Program run for OpenTofu roots.
    pub tofu_program: String,
    /// Program run for Pulumi projects.
    pub pulumi_program: String,
}

impl Default for PreviewConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 900,
            interrupt_grace_secs: 20,
            lock: true,
            terraform_program: "terraform".into(),
            tofu_program: "tofu".into(),
            pulumi_program: "pulumi".into(),
        }
    }
}

/// Risk rule settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// Extra type globs treated as stateful (their deletion loses data).
    pub stateful_types: Vec<String>,
    /// This many destroys in one plan needs a review.
    pub many_deletes: usize,
    /// Destroying something this many resources depend on needs a review.
    pub many_dependents: usize,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            stateful_types: Vec::new(),
            many_deletes: 10,
            many_dependents: 5,
        }
    }
}

/// The CLI that owns a declared stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StackEngine {
    Terraform,
    Tofu,
    Pulumi,
}

/// How a declared stack's state is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateRead {
    /// From the file named by `state`.
    #[default]
    File,
    /// Through the user's CLI in `dir` (remote backends): `terraform show -json`,
    /// `tofu show -json`, `pulumi stack export`.
    Cli,
}

/// A `[[stack]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    /// Id used in tool calls.
    pub name: String,
    pub engine: StackEngine,
    /// State file (read = "file"), relative to the workspace.
    #[serde(default)]
    pub state: Option<PathBuf>,
    /// Project or root directory (read = "cli"), relative to the workspace.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    #[serde(default)]
    pub read: StateRead,
    /// Pulumi stack name for `pulumi stack export --stack`.
    #[serde(default)]
    pub pulumi_stack: Option<String>,
}

/// Output limits shared by all tools.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Upper bound on the text of one tool answer, in bytes.
    pub budget_bytes: usize,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            budget_bytes: DEFAULT_OUTPUT_BUDGET,
        }
    }
}

/// Toolsets can be switched off so a client pays only for the tool descriptions it uses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsetsConfig {
    /// Toolsets that are not published at all.
    pub disabled: Vec<Toolset>,
}

/// How the HTTP transport listens and whom it lets in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address to bind when `--http` is given without an address.
    pub listen: SocketAddr,
    /// Extra `Host` header values accepted besides loopback names (DNS-rebinding protection).
    pub allowed_hosts: Vec<String>,
    /// `Origin` values accepted from browsers; requests with any other Origin get 403.
    pub allowed_origins: Vec<String>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Time allowed for a client to send a whole request (headers and body).
    pub request_timeout_secs: u64,
    /// Authentication of HTTP clients.
    pub auth: AuthConfig,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8931)),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            auth: AuthConfig::default(),
        }
    }
}

/// Which authentication scheme the HTTP transport enforces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// No authentication: only allowed on a loopback address.
    #[default]
    None,
    /// Static bearer token(s) read from a file or an environment variable.
    Bearer,
    /// OAuth 2.1 resource server: JWT access tokens checked against a JWKS.
    Oauth,
}

/// Authentication settings for HTTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub mode: AuthMode,
    /// Environment variable holding the bearer token (mode = "bearer").
    pub token_env: Option<String>,
    /// File holding the bearer token, one per line (mode = "bearer").
    pub token_file: Option<PathBuf>,
    /// Scopes granted to a static bearer token.
    pub token_scopes: Vec<String>,
    /// Expected `iss` claim (mode = "oauth").
    pub issuer: Option<String>,
    /// Expected `aud` claim (mode = "oauth"); usually the canonical URL of this server's `/mcp`.
    pub audience: Option<String>,
    /// JWKS document on disk (mode = "oauth").
    pub jwks_file: Option<PathBuf>,
    /// JWKS document URL, fetched at start-up and on unknown key ids (mode = "oauth").
    pub jwks_url: Option<String>,
    /// Authorization servers advertised in the protected-resource metadata.
    pub authorization_servers: Vec<String>,
    /// Public URL of the `/mcp` endpoint, advertised as the protected resource.
    pub resource: Option<String>,
    /// Allowed clock skew when checking `exp` and `nbf`.
    pub leeway_secs: u64,
    /// Shortest time between two JWKS fetches triggered by unknown key ids.
    pub jwks_refresh_min_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::None,
            token_env: None,
            token_file: None,
            token_scopes: crate::toolset::ALL_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            issuer: None,
            audience: None,
            jwks_file: None,
            jwks_url: None,
            authorization_servers: Vec::new(),
            resource: None,
            leeway_secs: 30,
            jwks_refresh_min_secs: 60,
        }
    }
}

/// Where the audit log goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// A path relative to the workspace, or `"stderr"` for containers.
    pub path: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            path: ".fathom/audit.jsonl".to_string(),
        }
    }
}

/// Operator-supplied secrets to redact in addition to the built-in patterns.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactConfig {
    /// Names of environment variables whose values are secrets.
    pub env: Vec<String>,
    /// Extra regular expressions whose matches are secrets.
    pub patterns: Vec<String>,
}

/// Text search limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Files larger than this are not searched.
    pub max_file_bytes: u64,
    /// Wall-clock limit for one search.
    pub timeout_secs: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: 8 * 1024 * 1024,
            timeout_secs: 30,
        }
    }
}

/// Checks one integration: a usable name, pins that belong to its CLI, one source per
/// credential, sane limits.
fn validate_integration(i: &IntegrationConfig) -> Result<(), String> {
    use crate::cloud::classify::CliKind;
    if i.name.is_empty()
        || !i
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("name must be letters, digits, `-` or `_`".into());
    }
    let pins: [(&str, bool, CliKind); 9] = [
        ("profile", i.profile.is_some(), CliKind::Aws),
        ("region", i.region.is_some(), CliKind::Aws),
        ("endpoint", i.endpoint.is_some(), CliKind::Aws),
        ("project", i.project.is_some(), CliKind::Gcloud),
        ("account", i.account.is_some(), CliKind::Gcloud),
        ("subscription", i.subscription.is_some(), CliKind::Az),
        ("kubeconfig", i.kubeconfig.is_some(), CliKind::Kubectl),
        ("context", i.context.is_some(), CliKind::Kubectl),
        ("namespace", i.namespace.is_some(), CliKind::Kubectl),
    ];
    for (key, set, cli) in pins {
        if set && cli != i.cli {
            return Err(format!(
                "`{key}` is a {} setting; this integration runs {}",
                cli.program(),
                i.cli.program()
            ));
        }
    }
    for (var, source) in &i.credentials {
        if source.env.is_some() == source.file.is_some() {
            return Err(format!(
                "credentials.{var}: give exactly one of `env` or `file`"
            ));
        }
    }
    for flag in &i.allow_flags {
        if !flag.starts_with("--") {
            return Err(format!(
                "allow_flags: `{flag}` must be a long flag spelled in full"
            ));
        }
    }
    if i.timeout_secs == 0 {
        return Err("timeout_secs must be at least 1".into());
    }
    if i.max_output_bytes < 1024 {
        return Err("max_output_bytes must be at least 1024".into());
    }
    Ok(())
}

impl Config {
    /// Loads `explicit` if given (it must exist), else `<workspace>/fathom.toml` if present,
    /// else the defaults.
    pub fn load(workspace: &Path, explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let candidate = workspace.join(CONFIG_FILE_NAME);
                if !candidate.exists() {
                    return Ok(Self::default());
                }
                candidate
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text, &path)
    }

    /// Parses configuration text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: describe_toml_error(text, &e),
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.output.budget_bytes < 1024 {
            return Err("output.budget_bytes must be at least 1024".into());
        }
        if self.http.max_body_bytes < 1024 {
            return Err("http.max_body_bytes must be at least 1024".into());
        }
        if self.http.request_timeout_secs == 0 {
            return Err("http.request_timeout_secs must be at least 1".into());
        }
        for (i, st) in self.stacks.iter().enumerate() {
            let at = format!("stack[{i}] (`{}`)", st.name);
            if st.name.trim().is_empty() {
                return Err(format!("stack[{i}]: name must not be empty"));
            }
            match st.read {
                StateRead::File if st.state.is_none() => {
                    return Err(format!("{at}: read = \"file\" needs `state`"));
                }
                StateRead::Cli if st.dir.is_none() => {
                    return Err(format!("{at}: read = \"cli\" needs `dir`"));
                }
                _ => {}
            }
            if self.stacks[..i].iter().any(|o| o.name == st.name) {
                return Err(format!("{at}: duplicate stack name"));
            }
        }
        for (i, integ) in self.integrations.iter().enumerate() {
            validate_integration(integ)
                .map_err(|e| format!("integration[{i}] (`{}`): {e}", integ.name))?;
            if self.integrations[..i].iter().any(|o| o.name == integ.name) {
                return Err(format!(
                    "integration[{i}] (`{}`): duplicate name",
                    integ.name
                ));
            }
        }
        if self.approvals.ttl_secs == 0 {
            return Err("approvals.ttl_secs must be at least 1".into());
        }
        if self.preview.timeout_secs == 0 {
            return Err("preview.timeout_secs must be at least 1".into());
        }
        crate::iac::risk::Rules::new(&self.risk.stateful_types, 1, 1)
            .map_err(|e| format!("risk.stateful_types: {e}"))?;
        if self.state.cli_timeout_secs == 0 {
            return Err("state.cli_timeout_secs must be at least 1".into());
        }
        if self.search.timeout_secs == 0 {
            return Err("search.timeout_secs must be at least 1".into());
        }
        if self.lsp.request_timeout_secs == 0 {
            return Err("lsp.request_timeout_secs must be at least 1".into());
        }
        if self.lsp.max_open_documents == 0 {
            return Err("lsp.max_open_documents must be at least 1".into());
        }
        for (i, server) in self.lsp.servers.iter().enumerate() {
            let at = format!("lsp.server[{i}] (`{}`)", server.language);
            if server.command.first().is_none_or(|c| c.trim().is_empty()) {
                return Err(format!("{at}: command must name a program"));
            }
            if server.extensions.is_empty()
                && !crate::code::lsp::registry::BUILT_IN.contains(&server.language.as_str())
            {
                return Err(format!(
                    "{at}: `extensions` is required for a language that is not built in ({})",
                    crate::code::lsp::registry::BUILT_IN.join(", ")
                ));
            }
        }
        for scope in &self.http.auth.token_scopes {
            if !crate::toolset::ALL_SCOPES.contains(&scope.as_str()) {
                return Err(format!(
                    "http.auth.token_scopes: unknown scope `{scope}` (known: {})",
                    crate::toolset::ALL_SCOPES.join(", ")
                ));
            }
        }
        for pattern in &self.redact.patterns {
            regex::Regex::new(pattern)
                .map_err(|e| format!("redact.patterns: invalid regex `{pattern}`: {e}"))?;
        }
        let auth = &self.http.auth;
        match auth.mode {
            AuthMode::None => {}
            AuthMode::Bearer => {
                if auth.token_env.is_none() && auth.token_file.is_none() {
                    return Err(
                        "http.auth.mode = \"bearer\" needs http.auth.token_env or http.auth.token_file"
                            .into(),
                    );
                }
            }
            AuthMode::Oauth => {
                if auth.issuer.is_none() || auth.audience.is_none() {
                    return Err(
                        "http.auth.mode = \"oauth\" needs http.auth.issuer and http.auth.audience"
                            .into(),
                    );
                }
                if auth.jwks_file.is_none() && auth.jwks_url.is_none() {
                    return Err(
                        "http.auth.mode = \"oauth\" needs http.auth.jwks_file or http.auth.jwks_url"
                            .into(),
                    );
                }
            }
        }
        Ok(())
    }
}

/// Renders a TOML error as `line L, column C: message` so the operator can find the key.
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().to_string();
    match err.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let snippet = text.lines().nth(line - 1).unwrap_or("").trim();
            format!("line {line}, column {column}: {message} (at `{snippet}`)")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("", Path::new("fathom.toml")).unwrap();
        assert_eq!(c.output.budget_bytes, DEFAULT_OUTPUT_BUDGET);
        assert_eq!(c.http.listen.to_string(), "127.0.0.1:8931");
        assert_eq!(c.http.auth.mode, AuthMode::None);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = "[output]\nbudget_bytes = 4096\n\n[http]\nlisten = \"127.0.0.1:1\"\nalowed_hosts = []\n";
        let err = Config::parse(text, Path::new("/ws/fathom.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/ws/fathom.toml: line 6"), "{err}");
        assert!(err.contains("alowed_hosts"), "{err}");
    }

    #[test]
    fn bad_value_is_an_error() {
        let err = Config::parse("[http]\nlisten = \"not an address\"\n", Path::new("f.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        let err = Config::parse("[toolsets]\ndisabled = [\"nope\"]\n", Path::new("f.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn oauth_needs_issuer_audience_and_keys() {
        let err = Config::parse("[http.auth]\nmode = \"oauth\"\n", Path::new("f.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("issuer"), "{err}");
    }
}
