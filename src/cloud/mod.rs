//! Scoped cloud CLI calls: named integrations (`staging-aws`, `prod-readonly-gcloud`, …) whose
//! identity, target and endpoint are pinned, whose commands are classified read / write /
//! secret-revealing by each CLI's own grammar, and whose writes run only after a human approves
//! the exact command.
//!
//! Nothing here knows MCP: `tools::cloud` asks [`policy::decide`] what to do, the approval
//! flow goes through [`approvals::ApprovalStore`], and [`run::execute`] runs the child through
//! `exec` (argv only, clean environment, timeout, output cap).

pub mod approvals;
pub mod classify;
pub mod integration;
pub mod policy;
pub mod run;
