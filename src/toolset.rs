//! Toolsets group tools by what they can touch, and OAuth scopes map onto them, so that
//! "what may this caller see and call" is one small table rather than a per-tool list.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A family of tools that is switched on or off, and granted, as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Toolset {
    /// Symbol and text search over the workspace (read-only).
    Code,
    /// Stack state readers (read-only).
    State,
    /// Plans and previews: run engines, never apply.
    Preview,
    /// Scoped cloud CLI calls.
    Cloud,
}

impl Toolset {
    /// The OAuth scope a caller needs to see and call tools of this set.
    pub fn scope(self) -> &'static str {
        match self {
            Toolset::Code | Toolset::State => SCOPE_READ,
            Toolset::Preview => SCOPE_PREVIEW,
            Toolset::Cloud => SCOPE_CLOUD,
        }
    }

    /// Lower-case name used in config and schemas.
    pub fn name(self) -> &'static str {
        match self {
            Toolset::Code => "code",
            Toolset::State => "state",
            Toolset::Preview => "preview",
            Toolset::Cloud => "cloud",
        }
    }
}

/// Read workspace code and stack state.
pub const SCOPE_READ: &str = "fathom:read";
/// Run previews (plans) through the engines.
pub const SCOPE_PREVIEW: &str = "fathom:preview";
/// Call scoped cloud CLIs.
pub const SCOPE_CLOUD: &str = "fathom:cloud";
/// Ask for write actions (each still needs a human's approval).
pub const SCOPE_APPLY: &str = "fathom:apply";
/// Every scope fathom knows, in the order they are advertised.
pub const ALL_SCOPES: &[&str] = &[SCOPE_READ, SCOPE_PREVIEW, SCOPE_CLOUD, SCOPE_APPLY];

/// Who is calling and what they were granted. Stdio callers are the local user and get all
/// scopes; HTTP callers get what their token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Token subject, or `stdio`.
    pub subject: String,
    /// Granted scopes.
    pub scopes: BTreeSet<String>,
}

impl Identity {
    /// The local user on stdio: trusted with every scope (writes still need approval).
    pub fn stdio() -> Self {
        Self {
            subject: "stdio".to_string(),
            scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// An unauthenticated HTTP caller on loopback (auth mode `none`).
    pub fn local_http() -> Self {
        Self {
            subject: "http-local".to_string(),
            scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Whether this caller may see and call tools of `set`.
    pub fn may_use(&self, set: Toolset) -> bool {
        self.scopes.contains(set.scope())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_gate_toolsets() {
        let id = Identity {
            subject: "t".into(),
            scopes: [SCOPE_PREVIEW.to_string()].into_iter().collect(),
        };
        assert!(!id.may_use(Toolset::Code));
        assert!(id.may_use(Toolset::Preview));
        assert!(Identity::stdio().may_use(Toolset::Cloud));
    }
}
