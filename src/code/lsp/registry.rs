//! Which language server serves which files: built-in choices per language (first binary
//! found on `PATH` wins), replaced or extended by `[[lsp.server]]` in `fathom.toml`.

use std::path::{Path, PathBuf};

use crate::config::LspServerConfig;

/// Languages fathom knows a server for without configuration.
pub const BUILT_IN: &[&str] = &["typescript", "python", "rust", "go", "hcl", "yaml"];

/// A language and the server command chosen for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub language: String,
    /// Resolved program path and its arguments; `None` when nothing is installed.
    pub command: Option<(PathBuf, Vec<String>)>,
    pub extensions: Vec<String>,
    /// What to install when `command` is `None`.
    pub install_hint: String,
    /// Configured `languageId`, instead of the one derived from the extension.
    pub language_id: Option<String>,
}

impl ServerSpec {
    /// `languageId` for `didOpen`, from the file's extension.
    pub fn language_id(&self, path: &Path) -> String {
        if let Some(id) = &self.language_id {
            return id.clone();
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "ts" | "mts" | "cts" => "typescript",
            "tsx" => "typescriptreact",
            "js" | "mjs" | "cjs" => "javascript",
            "jsx" => "javascriptreact",
            "py" | "pyi" => "python",
            "rs" => "rust",
            "go" => "go",
            "tf" | "tofu" => "terraform",
            "tfvars" => "terraform-vars",
            "yaml" | "yml" => "yaml",
            _ => self.language.as_str(),
        }
        .to_string()
    }
}

struct BuiltIn {
    language: &'static str,
    extensions: &'static [&'static str],
    candidates: &'static [&'static [&'static str]],
    install: &'static str,
}

/// Candidates that are only servers in some versions: `tsc` speaks LSP from TypeScript 7 on
/// (`tsc --lsp --stdio`); older ones do not, so `tsc --version` must say 7 or later.
fn acceptable(argv: &[&str], program: &Path) -> bool {
    if argv.first() != Some(&"tsc") {
        return true;
    }
    let Some(out) = version_output(program) else {
        return false;
    };
    out.split_whitespace()
        .find_map(|w| w.split('.').next()?.parse::<u32>().ok())
        .is_some_and(|major| major >= 7)
}

/// `program --version`, given at most 3 seconds.
fn version_output(program: &Path) -> Option<String> {
    use std::io::Read;
    let mut child = std::process::Command::new(program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut out = String::new();
    child.stdout.take()?.read_to_string(&mut out).ok()?;
    Some(out)
}

const BUILT_INS: &[BuiltIn] = &[
    BuiltIn {
        language: "typescript",
        extensions: &["ts", "tsx", "mts", "cts", "js", "jsx", "mjs", "cjs"],
        candidates: &[
            &["typescript-language-server", "--stdio"],
            &["tsc", "--lsp", "--stdio"],
        ],
        install: "npm install -g typescript-language-server typescript@5 (or typescript@7, whose tsc serves LSP)",
    },
    BuiltIn {
        language: "python",
        extensions: &["py", "pyi"],
        candidates: &[
            &["pyright-langserver", "--stdio"],
            &["basedpyright-langserver", "--stdio"],
        ],
        install: "npm install -g pyright (or pip install basedpyright)",
    },
    BuiltIn {
        language: "rust",
        extensions: &["rs"],
        candidates: &[&["rust-analyzer"]],
        install: "rustup component add rust-analyzer",
    },
    BuiltIn {
        language: "go",
        extensions: &["go"],
        candidates: &[&["gopls"]],
        install: "go install golang.org/x/tools/gopls@latest",
    },
    BuiltIn {
        language: "hcl",
        extensions: &["tf", "tofu"],
        candidates: &[
            &["terraform-ls", "serve"],
            &["tofu-ls", "serve"],
            &["fathom", "hcl-ls"],
        ],
        install: "nothing: fathom's own `fathom hcl-ls` serves HCL",
    },
    BuiltIn {
        language: "yaml",
        extensions: &["yaml", "yml"],
        candidates: &[&["yaml-language-server", "--stdio"]],
        install: "npm install -g yaml-language-server",
    },
];

/// The servers for this workspace: configured ones first, then built-ins not overridden.
pub fn resolve(configured: &[LspServerConfig], path_var: Option<&str>) -> Vec<ServerSpec> {
    let mut specs = Vec::new();
    for c in configured {
        let extensions = if c.extensions.is_empty() {
            BUILT_INS
                .iter()
                .find(|b| b.language == c.language)
                .map(|b| b.extensions.iter().map(|e| e.to_string()).collect())
                .unwrap_or_default()
        } else {
            c.extensions
                .iter()
                .map(|e| e.trim_start_matches('.').to_string())
                .collect()
        };
        let command = c
            .command
            .split_first()
            .and_then(|(p, args)| find_program(p, path_var).map(|p| (p, args.to_vec())));
        specs.push(ServerSpec {
            language: c.language.clone(),
            install_hint: format!(
                "install `{}` or fix [[lsp.server]] `{}` in fathom.toml",
                c.command.first().map_or("", String::as_str),
                c.language
            ),
            command,
            extensions,
            language_id: c.language_id.clone(),
        });
    }
    for b in BUILT_INS {
        if specs.iter().any(|s| s.language == b.language) {
            continue;
        }
        let command = b.candidates.iter().find_map(|argv| {
            let (p, args) = argv.split_first()?;
            let program = find_program(p, path_var)?;
            if !acceptable(argv, &program) {
                return None;
            }
            Some((program, args.iter().map(|a| a.to_string()).collect()))
        });
        specs.push(ServerSpec {
            language: b.language.to_string(),
            command,
            extensions: b.extensions.iter().map(|e| e.to_string()).collect(),
            install_hint: b.install.to_string(),
            language_id: None,
        });
    }
    specs
}

/// Finds a program: `fathom` is this binary, a path is taken as is, a bare name is looked
/// up on `PATH`.
fn find_program(name: &str, path_var: Option<&str>) -> Option<PathBuf> {
    if name == "fathom" {
        return std::env::current_exe().ok();
    }
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_servers_override_built_ins_and_missing_ones_say_what_to_install() {
        let dir = std::env::temp_dir().join(format!("fathom-reg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("my-ls");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let configured = vec![LspServerConfig {
            language: "python".into(),
            command: vec!["my-ls".into(), "--stdio".into()],
            extensions: vec![],
            language_id: None,
        }];
        let path = dir.to_string_lossy().to_string();
        let specs = resolve(&configured, Some(&path));
        let py = specs.iter().find(|s| s.language == "python").unwrap();
        assert_eq!(py.command, Some((fake, vec!["--stdio".to_string()])));
        assert_eq!(py.extensions, vec!["py", "pyi"]);
        assert_eq!(specs.iter().filter(|s| s.language == "python").count(), 1);
        let ts = specs.iter().find(|s| s.language == "typescript").unwrap();
        assert_eq!(ts.command, None);
        assert!(ts.install_hint.contains("typescript-language-server"));
        let hcl = specs.iter().find(|s| s.language == "hcl").unwrap();
        assert_eq!(
            hcl.command.as_ref().map(|c| c.1.clone()),
            Some(vec!["hcl-ls".to_string()]),
            "with nothing on PATH, HCL falls back to fathom's own server"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
