//! fathom: an MCP server that gives coding agents safe eyes on infrastructure and code.
//!
//! Layers point down only: `server` (MCP) → `tools` (typed, thin) → `code`, `iac` (domain) →
//! foundation (`config`, `audit`, `redact`, `render`, `workspace`, `toolset`).
//! See ARCHITECTURE.md for the map and the invariants each module keeps.

pub mod audit;
pub mod cli;
pub mod cloud;
pub mod code;
pub mod config;
pub mod demo;
pub mod exec;
pub mod iac;
pub mod redact;
pub mod render;
pub mod server;
pub mod tools;
pub mod toolset;
pub mod workspace;
