//! The one decision every `cloud_run` goes through: classify the command, apply the
//! integration's allow / deny lists and access level, confine local files to the workspace,
//! and say whether it runs now, needs a human, or is refused — with the reason.

use std::path::{Component, Path};

use super::classify::{self, Class, Classification, pattern_matches};
use super::integration::Integration;
use crate::config::Access;
use crate::workspace::{PathError, Workspace};

/// What happens to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A read within scope: runs at once.
    Run(Classification),
    /// A write (or permitted secret read) on a write integration: runs after a human says so.
    NeedsApproval(Classification),
    /// Never runs; the reason names the rule.
    Refuse {
        reason: String,
        classification: Option<Classification>,
    },
}

impl Decision {
    /// Short name for the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Run(_) => "allow",
            Decision::NeedsApproval(_) => "needs_approval",
            Decision::Refuse { .. } => "refuse",
        }
    }

    pub fn classification(&self) -> Option<&Classification> {
        match self {
            Decision::Run(c) | Decision::NeedsApproval(c) => Some(c),
            Decision::Refuse { classification, .. } => classification.as_ref(),
        }
    }
}

fn refuse(reason: impl Into<String>, c: Option<Classification>) -> Decision {
    Decision::Refuse {
        reason: reason.into(),
        classification: c,
    }
}

/// Decides what to do with `args` on `integration`.
pub fn decide(integration: &Integration, args: &[String], workspace: &Workspace) -> Decision {
    let c = match classify::classify(integration.cli(), args, &integration.options()) {
        Ok(c) => c,
        Err(r) => return refuse(r.to_string(), None),
    };
    let cfg = &integration.config;
    let words = c.words.join(" ");
    if let Some(p) = cfg.deny.iter().find(|p| pattern_matches(p, &c.words)) {
        return refuse(format!("`{words}` matches the deny pattern `{p}`"), Some(c));
    }
    // Said before the allow list: "this integration never writes" is the answer that helps.
    if c.class == Class::Write && cfg.access == Access::Read {
        return refuse(
            format!(
                "`{words}` is a write ({}) and `{}` is a read-only integration",
                c.why,
                integration.name()
            ),
            Some(c),
        );
    }
    if !cfg.allow.is_empty() && !cfg.allow.iter().any(|p| pattern_matches(p, &c.words)) {
        return refuse(
            format!(
                "`{words}` is not in the allow list ({})",
                cfg.allow.join(", ")
            ),
            Some(c),
        );
    }
    for f in &c.files {
        if let Err(why) = confine(workspace, &f.path, f.write) {
            return refuse(format!("`{}`: {why}", f.path), Some(c));
        }
    }
    match c.class {
        Class::Read => Decision::Run(c),
        Class::SecretRead => {
            if !cfg
                .secret_reads
                .iter()
                .any(|p| pattern_matches(p, &c.words))
            {
                return refuse(
                    format!(
                        "`{words}` reveals secrets ({}); refused unless the integration lists it in `secret_reads`",
                        c.why
                    ),
                    Some(c),
                );
            }
            Decision::NeedsApproval(c)
        }
        Class::Write => match cfg.access {
            Access::Read => refuse(
                format!(
                    "`{words}` is a write ({}) and `{}` is a read-only integration",
                    c.why,
                    integration.name()
                ),
                Some(c),
            ),
            Access::Write => Decision::NeedsApproval(c),
        },
    }
}

/// A local file argument must stay inside the workspace: an existing file resolves there
/// (symlinks followed), a file to be written has its nearest existing ancestor there.
fn confine(workspace: &Workspace, path: &str, write: bool) -> Result<(), String> {
    if path.starts_with('~') {
        return Err("home-relative paths are outside the workspace".into());
    }
    match workspace.resolve(path) {
        Ok(_) => Ok(()),
        Err(PathError::Missing(_)) if write => {
            let p = Path::new(path);
            if p.components().any(|c| matches!(c, Component::ParentDir)) {
                return Err("`..` is not allowed in a file to be written".into());
            }
            let mut ancestor = p.parent();
            while let Some(a) = ancestor {
                let s = a.to_string_lossy();
                let s = if s.is_empty() { "." } else { s.as_ref() };
                match workspace.resolve(s) {
                    Ok(_) => return Ok(()),
                    Err(PathError::Missing(_)) => ancestor = a.parent(),
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(())
        }
        Err(PathError::Missing(_)) => Err("no such file in the workspace".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::classify::CliKind;
    use crate::config::IntegrationConfig;

    fn integration(access: &str, extra: &str) -> Integration {
        let text = format!("name = \"t\"\ncli = \"aws\"\naccess = \"{access}\"\n{extra}");
        let cfg: IntegrationConfig = toml::from_str(&text).unwrap();
        assert_eq!(cfg.cli, CliKind::Aws);
        Integration::new(cfg)
    }

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn access_allow_deny_and_files() {
        let dir = std::env::temp_dir().join(format!("fathom-policy-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/in.json"), "{}").unwrap();
        let ws = Workspace::new(&dir).unwrap();
        let ro = integration(
            "read",
            "deny = [\"iam *\"]\nallow = [\"s3api *\", \"ec2 describe-*\", \"iam\", \"s3 cp\"]",
        );
        assert!(matches!(
            decide(&ro, &argv("s3api list-buckets"), &ws),
            Decision::Run(_)
        ));
        let d = decide(&ro, &argv("s3api create-bucket --bucket b"), &ws);
        assert!(
            matches!(&d, Decision::Refuse { reason, .. } if reason.contains("read-only")),
            "{d:?}"
        );
        let d = decide(&ro, &argv("iam list-users"), &ws);
        assert!(
            matches!(&d, Decision::Refuse { reason, .. } if reason.contains("deny pattern")),
            "{d:?}"
        );
        let d = decide(&ro, &argv("sqs list-queues"), &ws);
        assert!(
            matches!(&d, Decision::Refuse { reason, .. } if reason.contains("allow list")),
            "{d:?}"
        );
        let rw = integration("write", "secret_reads = [\"ssm get-parameter\"]");
        assert!(matches!(
            decide(&rw, &argv("s3api create-bucket --bucket b"), &ws),
            Decision::NeedsApproval(_)
        ));
        assert!(matches!(
            decide(
                &rw,
                &argv("ssm get-parameter --name x --with-decryption"),
                &ws
            ),
            Decision::NeedsApproval(_)
        ));
        let d = decide(
            &rw,
            &argv("secretsmanager get-secret-value --secret-id x"),
            &ws,
        );
        assert!(
            matches!(&d, Decision::Refuse { reason, .. } if reason.contains("secret")),
            "{d:?}"
        );
        assert!(matches!(
            decide(
                &rw,
                &argv("ec2 run-instances --user-data file://sub/in.json"),
                &ws
            ),
            Decision::NeedsApproval(_)
        ));
        for bad in [
            "ec2 run-instances --user-data file:///etc/passwd",
            "ec2 run-instances --user-data file://../x",
            "ec2 run-instances --user-data file://sub/missing.json",
            "s3 cp s3://b/k /tmp/out",
            "s3 cp s3://b/k ../out",
            "s3 cp s3://b/k ~/out",
        ] {
            let d = decide(&rw, &argv(bad), &ws);
            assert!(matches!(d, Decision::Refuse { .. }), "{bad}: {d:?}");
        }
        assert!(matches!(
            decide(&rw, &argv("s3 cp s3://b/k sub/new/out.txt"), &ws),
            Decision::NeedsApproval(_)
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
}
