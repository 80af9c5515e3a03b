//! Infrastructure as code: the engine-neutral model, state readers for Terraform/OpenTofu and
//! Pulumi, stack discovery, the dependency graph, history and diffs. Knows nothing of MCP.

pub mod discovery;
pub mod graph;
pub mod history;
pub mod model;
pub mod plan;
pub mod preview;
pub mod pulumi;
pub mod pulumi_preview;
pub mod read;
pub mod risk;
pub mod secrets;
pub mod source;
pub mod store;
pub mod terraform;
