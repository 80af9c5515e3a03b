//! A language server for tests that hangs, crashes or answers ContentModified on cue
//! (see Cargo.toml).

use std::collections::HashMap;
use std::sync::Mutex;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

struct Fault {
    _client: Client,
    docs: Mutex<HashMap<String, String>>,
    /// Documents that already got their one ContentModified answer.
    flaked: Mutex<std::collections::HashSet<String>>,
}

impl LanguageServer for Fault {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::FULL,
                )),
                document_symbol_provider: Some(OneOf::Left(true)),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, p: DidOpenTextDocumentParams) {
        let mut docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
        docs.insert(p.text_document.uri.to_string(), p.text_document.text);
    }

    async fn did_change(&self, p: DidChangeTextDocumentParams) {
        if let Some(c) = p.content_changes.into_iter().last() {
            let mut docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
            docs.insert(p.text_document.uri.to_string(), c.text);
        }
    }

    async fn document_symbol(
        &self,
        p: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let text = {
            let docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
            docs.get(&p.text_document.uri.to_string()).cloned().unwrap_or_default()
        };
        if text.contains("CRASH") {
            std::process::exit(3);
        }
        if text.contains("FLAKY") {
            let mut flaked = self.flaked.lock().unwrap_or_else(|e| e.into_inner());
            if flaked.insert(p.text_document.uri.to_string()) {
                return Err(tower_lsp_server::jsonrpc::Error {
                    code: tower_lsp_server::jsonrpc::ErrorCode::ServerError(-32801),
                    message: "content modified".into(),
                    data: None,
                });
            }
        }
        if text.contains("HANG") {
            // Never answer; keep serving other messages.
            std::future::pending::<()>().await;
        }
        // One function symbol per line `def NAME`.
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if let Some(name) = line.strip_prefix("def ") {
                let name = name.trim().to_string();
                let start = Position::new(i as u32, 4);
                let end = Position::new(i as u32, 4 + name.len() as u32);
                #[allow(deprecated)]
                out.push(DocumentSymbol {
                    name,
                    detail: None,
                    kind: SymbolKind::FUNCTION,
                    tags: None,
                    deprecated: None,
                    range: Range::new(Position::new(i as u32, 0), end),
                    selection_range: Range::new(start, end),
                    children: None,
                });
            }
        }
        Ok(Some(DocumentSymbolResponse::Nested(out)))
    }
}

#[tokio::main]
async fn main() {
    let (service, socket) = LspService::new(|client| Fault {
        _client: client,
        docs: Mutex::new(HashMap::new()),
        flaked: Mutex::new(std::collections::HashSet::new()),
    });
    Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
        .serve(service)
        .await;
}
