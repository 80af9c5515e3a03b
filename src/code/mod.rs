//! Code intelligence: text search now; language-server backed symbol queries later.
//! Knows nothing of MCP.

pub mod hcl;
pub mod lsp;
pub mod search;
pub mod symbols;
