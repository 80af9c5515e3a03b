//! `fathom hcl-ls`: a language server for Terraform/OpenTofu over the module index, usable by
//! any editor and by fathom's own code tools. documentSymbol, workspace/symbol by Terraform
//! address, definition, references (across the files of a module) and hover with the block's
//! lifecycle settings. Open documents are indexed from the editor's text (full sync).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use super::index::{ModuleIndex, Pos, Symbol, SymbolKind as Kind};

/// Folders never indexed.
const SKIP_DIRS: &[&str] = &[
    ".git",
    ".terraform",
    "node_modules",
    "target",
    ".fathom",
    ".deps",
];

struct State {
    root: Option<PathBuf>,
    /// Unsaved editor text by path.
    open: HashMap<PathBuf, String>,
    /// Module indexes by directory (built lazily, dropped when a file in it changes).
    modules: HashMap<PathBuf, Arc<ModuleIndex>>,
}

/// The language server.
pub struct HclServer {
    _client: Client,
    state: Mutex<State>,
}

impl HclServer {
    fn module(&self, dir: &Path) -> Arc<ModuleIndex> {
        let Ok(mut st) = self.state.lock() else {
            return Arc::new(ModuleIndex::default());
        };
        if let Some(m) = st.modules.get(dir) {
            return m.clone();
        }
        let open = st.open.clone();
        let idx = Arc::new(ModuleIndex::build(dir, &|p| open.get(p).cloned()));
        st.modules.insert(dir.to_path_buf(), idx.clone());
        idx
    }

    fn module_dirs(&self) -> Vec<PathBuf> {
        let root = self.state.lock().ok().and_then(|s| s.root.clone());
        let Some(root) = root else { return Vec::new() };
        let mut dirs = std::collections::BTreeSet::new();
        let walker = ignore::WalkBuilder::new(&root)
            .standard_filters(false)
            .hidden(false)
            .follow_links(false)
            .max_depth(Some(12))
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                !(e.file_type().is_some_and(|t| t.is_dir())
                    && e.depth() > 0
                    && (SKIP_DIRS.contains(&name.as_ref()) || name.starts_with('.')))
            })
            .build();
        for e in walker.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "tf" || x == "tofu")
                && let Some(d) = p.parent()
            {
                dirs.insert(d.to_path_buf());
            }
        }
        dirs.into_iter().collect()
    }

    fn invalidate(&self, file: &Path) {
        if let (Ok(mut st), Some(dir)) = (self.state.lock(), file.parent()) {
            st.modules.remove(dir);
        }
    }

    fn lookup(&self, uri: &Uri, position: Position) -> Option<(Arc<ModuleIndex>, Symbol)> {
        let path = uri.to_file_path()?.into_owned();
        let idx = self.module(path.parent()?);
        let pos = Pos {
            line: position.line,
            col: position.character,
        };
        // `module.x.name` with the cursor on `name`: the child module's output.
        if let Some(r) = idx.reference_at(&path, pos)
            && let Some((member, range)) = &r.member
            && range.contains(pos)
            && let Some(src) = idx.find(&r.target).and_then(|m| m.module_source.clone())
        {
            let child = self.module(&src);
            let out = child.find(&format!("output.{member}"))?.clone();
            return Some((child, out));
        }
        // An argument of a module call: the child module's `variable`.
        if let Some((call, name)) = idx.module_input_at(&path, pos)
            && let Some(src) = call.module_source.clone()
        {
            let child = self.module(&src);
            let var = child.find(&format!("var.{name}"))?.clone();
            return Some((child, var));
        }
        let sym = idx.symbol_at(&path, pos)?.clone();
        Some((idx, sym))
    }

    /// Uses of a child module's `var.x` / `output.x` in the modules that call it: the call's
    /// argument `x = …`, or `module.name.x`.
    fn uses_from_callers(&self, child: &ModuleIndex, s: &Symbol) -> Vec<Location> {
        let (is_var, name) = match s.address.split_once('.') {
            Some(("var", n)) => (true, n),
            Some(("output", n)) => (false, n),
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        for dir in self.module_dirs() {
            if dir == child.dir {
                continue;
            }
            let parent = self.module(&dir);
            for call in parent
                .symbols
                .iter()
                .filter(|c| c.module_source.as_deref() == Some(child.dir.as_path()))
            {
                if is_var {
                    out.extend(
                        call.module_inputs
                            .iter()
                            .filter(|(n, _)| n == name)
                            .filter_map(|(_, r)| location(&call.file, r)),
                    );
                } else {
                    out.extend(
                        parent
                            .references_to(&call.address)
                            .filter_map(|r| r.member.as_ref().map(|m| (r, m)))
                            .filter(|(_, (m, _))| m == name)
                            .filter_map(|(r, (_, range))| location(&r.file, range)),
                    );
                }
            }
        }
        out
    }
}

fn lsp_range(r: &super::index::Range) -> Range {
    Range {
        start: Position {
            line: r.start.line,
            character: r.start.col,
        },
        end: Position {
            line: r.end.line,
            character: r.end.col,
        },
    }
}

fn location(file: &Path, r: &super::index::Range) -> Option<Location> {
    Some(Location {
        uri: Uri::from_file_path(file)?,
        range: lsp_range(r),
    })
}

fn kind(k: Kind) -> SymbolKind {
    match k {
        Kind::Resource => SymbolKind::CLASS,
        Kind::Data => SymbolKind::OBJECT,
        Kind::Module => SymbolKind::MODULE,
        Kind::Variable => SymbolKind::VARIABLE,
        Kind::Local => SymbolKind::CONSTANT,
        Kind::Output => SymbolKind::PROPERTY,
        Kind::Provider => SymbolKind::INTERFACE,
    }
}

impl LanguageServer for HclServer {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let root = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .and_then(|f| f.uri.to_file_path().map(|p| p.into_owned()));
        #[allow(deprecated)]
        let root = root.or_else(|| {
            params
                .root_uri
                .as_ref()
                .and_then(|u| u.to_file_path().map(|p| p.into_owned()))
        });
        if let Ok(mut st) = self.state.lock() {
            st.root = root;
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::FULL,
                )),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "fathom-hcl-ls".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            ..Default::default()
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, p: DidOpenTextDocumentParams) {
        if let Some(path) = p.text_document.uri.to_file_path().map(|p| p.into_owned()) {
            if let Ok(mut st) = self.state.lock() {
                st.open.insert(path.clone(), p.text_document.text);
            }
            self.invalidate(&path);
        }
    }

    async fn did_change(&self, p: DidChangeTextDocumentParams) {
        let Some(path) = p.text_document.uri.to_file_path().map(|p| p.into_owned()) else {
            return;
        };
        if let Some(change) = p.content_changes.into_iter().last()
            && let Ok(mut st) = self.state.lock()
        {
            st.open.insert(path.clone(), change.text);
        }
        self.invalidate(&path);
    }

    async fn did_close(&self, p: DidCloseTextDocumentParams) {
        if let Some(path) = p.text_document.uri.to_file_path().map(|p| p.into_owned()) {
            if let Ok(mut st) = self.state.lock() {
                st.open.remove(&path);
            }
            self.invalidate(&path);
        }
    }

    async fn did_change_watched_files(&self, p: DidChangeWatchedFilesParams) {
        for c in p.changes {
            if let Some(path) = c.uri.to_file_path() {
                self.invalidate(&path);
            }
        }
    }

    async fn document_symbol(
        &self,
        p: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let Some(path) = p.text_document.uri.to_file_path().map(|p| p.into_owned()) else {
            return Ok(None);
        };
        let Some(dir) = path.parent() else {
            return Ok(None);
        };
        let idx = self.module(dir);
        #[allow(deprecated)]
        let symbols: Vec<DocumentSymbol> = idx
            .symbols
            .iter()
            .filter(|s| s.file == path)
            .map(|s| DocumentSymbol {
                name: s.address.clone(),
                detail: None,
                kind: kind(s.kind),
                tags: None,
                deprecated: None,
                range: lsp_range(&s.range),
                selection_range: lsp_range(&s.name_range),
                children: None,
            })
            .collect();
        Ok(Some(DocumentSymbolResponse::Nested(symbols)))
    }

    async fn symbol(&self, p: WorkspaceSymbolParams) -> Result<Option<WorkspaceSymbolResponse>> {
        let q = p.query.to_ascii_lowercase();
        let mut exact = Vec::new();
        let mut fuzzy = Vec::new();
        for dir in self.module_dirs() {
            let idx = self.module(&dir);
            for s in &idx.symbols {
                let a = s.address.to_ascii_lowercase();
                let bucket = if a == q || a.ends_with(&format!(".{q}")) {
                    &mut exact
                } else if q.is_empty() || a.contains(&q) {
                    &mut fuzzy
                } else {
                    continue;
                };
                if let Some(location) = location(&s.file, &s.name_range) {
                    #[allow(deprecated)]
                    bucket.push(SymbolInformation {
                        name: s.address.clone(),
                        kind: kind(s.kind),
                        tags: None,
                        deprecated: None,
                        location,
                        container_name: dir.file_name().map(|n| n.to_string_lossy().into_owned()),
                    });
                }
            }
        }
        exact.extend(fuzzy);
        exact.truncate(500);
        Ok(Some(WorkspaceSymbolResponse::Flat(exact)))
    }

    async fn goto_definition(
        &self,
        p: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        let tdp = p.text_document_position_params;
        Ok(self
            .lookup(&tdp.text_document.uri, tdp.position)
            .and_then(|(_, s)| location(&s.file, &s.name_range))
            .map(GotoDefinitionResponse::Scalar))
    }

    async fn references(&self, p: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let tdp = p.text_document_position;
        let Some((idx, s)) = self.lookup(&tdp.text_document.uri, tdp.position) else {
            return Ok(Some(Vec::new()));
        };
        let mut out: Vec<Location> = idx
            .references_to(&s.address)
            .filter_map(|r| location(&r.file, &r.range))
            .collect();
        out.extend(self.uses_from_callers(&idx, &s));
        if p.context.include_declaration
            && let Some(l) = location(&s.file, &s.name_range)
        {
            out.insert(0, l);
        }
        Ok(Some(out))
    }

    async fn hover(&self, p: HoverParams) -> Result<Option<Hover>> {
        let tdp = p.text_document_position_params;
        let Some((_, s)) = self.lookup(&tdp.text_document.uri, tdp.position) else {
            return Ok(None);
        };
        let mut text = format!("**{}**", s.address);
        if let Some(f) = s.file.file_name() {
            text.push_str(&format!(
                " — {}:{}",
                f.to_string_lossy(),
                s.range.start.line + 1
            ));
        }
        let l = &s.lifecycle;
        if s.kind == Kind::Resource {
            text.push_str(&format!(
                "\n\nlifecycle: prevent_destroy = {}, create_before_destroy = {}",
                l.prevent_destroy, l.create_before_destroy
            ));
            if !l.ignore_changes.is_empty() {
                text.push_str(&format!(
                    ", ignore_changes = [{}]",
                    l.ignore_changes.join(", ")
                ));
            }
        }
        Ok(Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: text,
            }),
            range: Some(lsp_range(&s.name_range)),
        }))
    }
}

/// Serves LSP on stdin/stdout until the client exits.
pub async fn serve_stdio() {
    let (service, socket) = LspService::new(|client| HclServer {
        _client: client,
        state: Mutex::new(State {
            root: None,
            open: HashMap::new(),
            modules: HashMap::new(),
        }),
    });
    Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
        .serve(service)
        .await;
}
