//! The command line: `serve`, `schemas`, `audit verify`, `demo`. Errors from here are the
//! only place reports get context chains; library layers return typed errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::audit::{self, AuditLog, Verdict};
use crate::config::{AuthMode, Config};
use crate::redact::Redactor;
use crate::server::App;
use crate::tools::Services;
use crate::workspace::Workspace;

/// fathom: safe eyes on infrastructure for coding agents, over MCP.
#[derive(Debug, Parser)]
#[command(name = "fathom", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (default) or streamable HTTP.
    Serve(ServeArgs),
    /// Write the JSON Schemas of every tool into a directory.
    Schemas {
        /// Output directory.
        #[arg(long, default_value = "tool-schemas")]
        out: PathBuf,
        /// Compare instead of writing; exit 1 when the files differ.
        #[arg(long)]
        check: bool,
    },
    /// Audit log utilities.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Language server for Terraform/OpenTofu (LSP over stdio), for editors and fathom itself.
    HclLs,
    /// Approve a cloud command an agent asked to run (no ID: list pending requests).
    Approve(ApprovalArgs),
    /// Refuse a cloud command an agent asked to run.
    Deny(ApprovalArgs),
    /// Run a scripted session through a real MCP client against a workspace.
    Demo {
        /// Workspace to explore (default: examples/demo).
        #[arg(long)]
        workspace: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of an audit log and name the first bad record.
    Verify {
        /// Log file (default: .fathom/audit.jsonl in the current directory).
        file: Option<PathBuf>,
    },
}

/// Which approval, in which workspace.
#[derive(Debug, Clone, clap::Args)]
pub struct ApprovalArgs {
    /// The id from the agent's "approval required" answer.
    pub id: Option<String>,
    /// Workspace root (default: the current directory).
    #[arg(long, short = 'w')]
    pub workspace: Option<PathBuf>,
    /// Configuration file (default: <workspace>/fathom.toml when present).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Do not ask for confirmation (needed when standard input is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Options shared by both transports.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Workspace root (default: the current directory).
    #[arg(long, short = 'w')]
    pub workspace: Option<PathBuf>,
    /// Configuration file (default: <workspace>/fathom.toml when present).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Serve streamable HTTP at /mcp on this address instead of stdio
    /// (default address from config, 127.0.0.1:8931).
    #[arg(long, num_args = 0..=1, default_missing_value = "config")]
    pub http: Option<String>,
}

/// Entry point used by `main`.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        None => serve(ServeArgs {
            workspace: None,
            config: None,
            http: None,
        }),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Schemas { out, check }) => schemas(&out, check),
        Some(Command::Audit {
            command: AuditCommand::Verify { file },
        }) => verify(file),
        Some(Command::HclLs) => {
            runtime()?.block_on(crate::code::hcl::server::serve_stdio());
            Ok(0)
        }
        Some(Command::Approve(a)) => decide_approval(&a, true),
        Some(Command::Deny(a)) => decide_approval(&a, false),
        Some(Command::Demo { workspace }) => {
            let runtime = runtime()?;
            runtime.block_on(crate::demo::run(workspace))?;
            Ok(0)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The workspace root (default: the current directory) and its configuration.
fn load_workspace(
    workspace: Option<&Path>,
    config: Option<&Path>,
) -> anyhow::Result<(Workspace, Config)> {
    let root = match workspace {
        Some(p) => p.to_path_buf(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let workspace = Workspace::new(&root)
        .with_context(|| format!("workspace {} is not a readable directory", root.display()))?;
    let config = Config::load(workspace.root(), config)?;
    Ok((workspace, config))
}

/// The audit log the configuration names.
fn open_audit(workspace: &Workspace, config: &Config) -> anyhow::Result<AuditLog> {
    Ok(if config.audit.path == "stderr" {
        AuditLog::stderr()
    } else {
        AuditLog::open_file(&workspace.root().join(&config.audit.path))?
    })
}

/// Loads workspace, config, redactor and audit log: everything a server needs.
pub fn build_app(args: &ServeArgs) -> anyhow::Result<Arc<App>> {
    let (workspace, config) = load_workspace(args.workspace.as_deref(), args.config.as_deref())?;
    let mut secrets = Vec::new();
    if config.http.auth.mode == AuthMode::Bearer {
        secrets.extend(crate::server::auth::load_bearer_tokens(&config.http.auth)?);
    }
    let redactor = Redactor::new(
        secrets,
        &config.redact.patterns,
        std::env::vars(),
        &config.redact.env,
    );
    let audit = open_audit(&workspace, &config)?;
    let state = crate::iac::store::StateStore::new(
        workspace.root(),
        config.state.clone(),
        config.stacks.clone(),
    );
    let symbols = crate::code::symbols::Symbols::new(
        workspace.root(),
        &config.lsp,
        config.search.max_file_bytes,
    );
    let integrations = config
        .integrations
        .iter()
        .cloned()
        .map(crate::cloud::integration::Integration::new)
        .collect();
    let approvals = approval_store(&workspace, &config);
    let services = Arc::new(Services {
        workspace,
        config,
        redactor,
        state,
        previews: crate::iac::preview::PreviewStore::default(),
        symbols,
        integrations,
        approvals,
    });
    Ok(Arc::new(App::new(services, Arc::new(audit))))
}

fn approval_store(
    workspace: &Workspace,
    config: &Config,
) -> crate::cloud::approvals::ApprovalStore {
    crate::cloud::approvals::ApprovalStore::new(
        workspace.root().join(&config.approvals.dir),
        std::time::Duration::from_secs(config.approvals.ttl_secs),
    )
}

/// `fathom approve|deny [ID]`: the only way, besides a person answering an elicitation, that a
/// cloud write gets permission. Audited like a tool call.
fn decide_approval(args: &ApprovalArgs, approve: bool) -> anyhow::Result<i32> {
    let (workspace, config) = load_workspace(args.workspace.as_deref(), args.config.as_deref())?;
    let store = approval_store(&workspace, &config);
    let redactor = Redactor::new(
        Vec::new(),
        &config.redact.patterns,
        std::env::vars(),
        &config.redact.env,
    );
    let Some(id) = &args.id else {
        let pending = store.pending();
        if pending.is_empty() {
            println!("no pending approval requests in {}", store.dir().display());
        }
        for r in pending {
            println!(
                "{}  {}: {} {}  ({}; asked by {})",
                r.id,
                r.integration,
                r.class,
                redactor.text(&r.args.join(" ")),
                r.why,
                r.requested_by
            );
        }
        return Ok(0);
    };
    let (req, state) = match store.get(id) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("fathom: {e}");
            return Ok(1);
        }
    };
    println!(
        "request {}: {} {} {}\n  class: {} ({})\n  scope: {}\n  asked by {}",
        req.id,
        req.integration,
        req.class,
        redactor.text(&req.args.join(" ")),
        req.class,
        req.why,
        if req.scope.is_empty() {
            "no pins".to_string()
        } else {
            req.scope.join(", ")
        },
        req.requested_by
    );
    if state == crate::cloud::approvals::State::Pending && !args.yes {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            eprintln!("fathom: standard input is not a terminal; pass --yes to confirm");
            return Ok(1);
        }
        print!(
            "{} this exact command? [y/N] ",
            if approve { "Approve" } else { "Deny" }
        );
        use std::io::Write;
        std::io::stdout().flush().ok();
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).ok();
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            println!("nothing changed");
            return Ok(1);
        }
    }
    let result = if approve {
        store.approve(id)
    } else {
        store.deny(id)
    };
    let req = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fathom: {e}");
            return Ok(1);
        }
    };
    let audit = open_audit(&workspace, &config)?;
    let mut fields = serde_json::Map::new();
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    fields.insert(
        "identity".into(),
        serde_json::json!(format!("terminal:{who}")),
    );
    fields.insert("approval".into(), serde_json::json!(req.id));
    fields.insert("integration".into(), serde_json::json!(req.integration));
    fields.insert("argv".into(), redactor.json(&serde_json::json!(req.args)));
    fields.insert(
        "decision".into(),
        serde_json::json!(if approve { "approved" } else { "denied" }),
    );
    audit.append(audit::Event {
        kind: "approval",
        fields,
    })?;
    println!(
        "{} {}: {} {} {}",
        if approve { "approved" } else { "denied" },
        req.id,
        req.integration,
        req.class,
        redactor.text(&req.args.join(" "))
    );
    Ok(0)
}

fn serve(args: ServeArgs) -> anyhow::Result<i32> {
    let app = build_app(&args)?;
    let runtime = runtime()?;
    let warm = app.services.config.lsp.warm.clone();
    if !warm.is_empty() {
        let services = app.services.clone();
        runtime.spawn(async move { services.symbols.warm(&warm).await });
    }
    let services = app.services.clone();
    let result = serve_on(&runtime, app, &args);
    // Language servers die with fathom: ask them to exit, then kill their process groups.
    runtime.block_on(async {
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            services.symbols.shutdown(),
        )
        .await;
    });
    result
}

fn serve_on(
    runtime: &tokio::runtime::Runtime,
    app: Arc<App>,
    args: &ServeArgs,
) -> anyhow::Result<i32> {
    match &args.http {
        None => runtime.block_on(crate::server::stdio::serve(app))?,
        Some(addr) => {
            let addr = if addr == "config" {
                app.services.config.http.listen
            } else {
                addr.parse()
                    .with_context(|| format!("--http {addr}: not an address like 127.0.0.1:8931"))?
            };
            runtime.block_on(crate::server::http::serve(app, addr))?
        }
    }
    Ok(0)
}

fn schemas(out: &Path, check: bool) -> anyhow::Result<i32> {
    let files = crate::tools::schema_files();
    if check {
        let mut stale = Vec::new();
        for (name, text) in &files {
            let current = std::fs::read_to_string(out.join(name)).unwrap_or_default();
            if &current != text {
                stale.push(name.clone());
            }
        }
        if stale.is_empty() {
            println!(
                "{} schema files up to date in {}",
                files.len(),
                out.display()
            );
            return Ok(0);
        }
        eprintln!(
            "out of date in {}: {} (run `fathom schemas`)",
            out.display(),
            stale.join(", ")
        );
        return Ok(1);
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (name, text) in &files {
        std::fs::write(out.join(name), text)
            .with_context(|| format!("cannot write {}", out.join(name).display()))?;
    }
    println!("wrote {} schema files to {}", files.len(), out.display());
    Ok(0)
}

fn verify(file: Option<PathBuf>) -> anyhow::Result<i32> {
    let path = file.unwrap_or_else(|| PathBuf::from(".fathom/audit.jsonl"));
    if !path.exists() {
        bail!("{}: no such audit log", path.display());
    }
    match audit::verify(&path)? {
        Verdict::Intact { records } => {
            println!("{}: chain intact, {records} records", path.display());
            Ok(0)
        }
        Verdict::Broken { line, reason } => {
            println!("{}: chain broken at line {line}: {reason}", path.display());
            Ok(1)
        }
    }
}
