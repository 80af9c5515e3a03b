//! Redaction applied to every byte fathom emits: tool results, error messages and audit
//! records. Secrets are removed at the source, so a rendering or logging bug downstream cannot
//! leak them.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

/// The text that replaces a secret.
pub const MASK: &str = "[redacted]";

/// Environment variables whose values are credentials wherever they are set.
const KNOWN_SECRET_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_CLIENT_SECRET",
    "ARM_CLIENT_SECRET",
    "ARM_ACCESS_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
    "PULUMI_ACCESS_TOKEN",
    "PULUMI_CONFIG_PASSPHRASE",
    "VAULT_TOKEN",
    "NPM_TOKEN",
    "CLOUDFLARE_API_TOKEN",
    "DIGITALOCEAN_TOKEN",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "DATABASE_URL",
];

/// Name suffixes that mark an environment variable as a credential.
const SECRET_VAR_SUFFIXES: &[&str] = &["_TOKEN", "_SECRET", "_PASSWORD", "_API_KEY", "_PASSPHRASE"];

/// Object keys whose values are replaced whole in structured data.
const SECRET_KEY_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "privatekey",
    "credential",
    "authorization",
    "access_key",
    "accesskey",
    "connection_string",
    "connectionstring",
];

/// Shortest environment value treated as a secret literal; shorter values ("1", "true") would
/// mask harmless text everywhere.
const MIN_SECRET_LEN: usize = 8;

/// Replaces credentials in text and JSON. Cheap to clone; built once at start-up.
#[derive(Clone)]
pub struct Redactor {
    inner: Arc<Inner>,
}

struct Inner {
    literals: Option<Regex>,
    patterns: Vec<(Regex, &'static str)>,
    extra: Vec<Regex>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor")
    }
}

impl Redactor {
    /// Builds a redactor from explicit secret values, extra patterns (already validated by
    /// config loading) and the credential variables found in `env`.
    pub fn new(
        secrets: impl IntoIterator<Item = String>,
        extra_patterns: &[String],
        env: impl IntoIterator<Item = (String, String)>,
        secret_env_names: &[String],
    ) -> Self {
        let mut literals: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        for (name, value) in env {
            let named = secret_env_names.iter().any(|n| n == &name);
            if (named || is_secret_var(&name)) && value.len() >= MIN_SECRET_LEN {
                literals.push(value);
            }
        }
        literals.sort_by_key(|s| std::cmp::Reverse(s.len()));
        literals.dedup();
        let literals = if literals.is_empty() {
            None
        } else {
            let alternation = literals
                .iter()
                .map(|s| regex::escape(s))
                .collect::<Vec<_>>()
                .join("|");
            Regex::new(&alternation).ok()
        };
        let extra = extra_patterns
            .iter()
            .filter_map(|p| Regex::new(p).ok())
            .collect();
        Self {
            inner: Arc::new(Inner {
                literals,
                patterns: builtin_patterns(),
                extra,
            }),
        }
    }

    /// A redactor with only the built-in patterns; for tests and tools that run before config.
    pub fn builtin() -> Self {
        Self::new(Vec::new(), &[], Vec::new(), &[])
    }

    /// Returns `text` with every secret replaced by [`MASK`].
    pub fn text(&self, text: &str) -> String {
        let mut out = std::borrow::Cow::Borrowed(text);
        if let Some(lit) = &self.inner.literals
            && lit.is_match(&out)
        {
            out = std::borrow::Cow::Owned(lit.replace_all(&out, MASK).into_owned());
        }
        for (re, replacement) in &self.inner.patterns {
            if re.is_match(&out) {
                out = std::borrow::Cow::Owned(re.replace_all(&out, *replacement).into_owned());
            }
        }
        for re in &self.inner.extra {
            if re.is_match(&out) {
                out = std::borrow::Cow::Owned(re.replace_all(&out, MASK).into_owned());
            }
        }
        out.into_owned()
    }

    /// Redacts every string in `value`, and replaces values under secret-looking keys whole.
    pub fn json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if is_secret_key(k) && !v.is_null() && !v.is_boolean() {
                            Value::String(MASK.to_string())
                        } else {
                            self.json(v)
                        };
                        (self.text(k), v)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

fn is_secret_var(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    KNOWN_SECRET_VARS.contains(&upper.as_str())
        || upper.starts_with("TF_TOKEN_")
        || SECRET_VAR_SUFFIXES.iter().any(|s| upper.ends_with(s))
}

/// Whether an object key or attribute name names a secret (its value is masked whole).
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_KEY_WORDS.iter().any(|w| lower.contains(w))
}

fn builtin_patterns() -> Vec<(Regex, &'static str)> {
    // Each pattern is a fixed literal checked by the unit tests below, so a failure to
    // compile is a programming error caught before release.
    let table: &[(&str, &'static str)] = &[
        // PEM private keys, whole block.
        (
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
            "[redacted private key]",
        ),
        // JSON Web Tokens (three base64url parts, header starting with '{"').
        (
            r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
            MASK,
        ),
        // Authorization headers and bearer tokens.
        (
            r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}",
            "$1 [redacted]",
        ),
        // AWS access key ids.
        (
            r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b",
            MASK,
        ),
        // GitHub, GitLab and Slack tokens.
        (
            r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})",
            MASK,
        ),
        (r"\bglpat-[A-Za-z0-9_-]{20,}", MASK),
        (r"\bxox[abprs]-[A-Za-z0-9-]{10,}", MASK),
        // Passwords in connection strings: scheme://user:password@host
        (
            r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^:/\s@]+:)[^@\s/]+@",
            "${1}[redacted]@",
        ),
        // key = value / "key": "value" pairs whose key names a secret; the key is kept.
        (
            r#"(?i)\b((?:aws_)?secret(?:_access)?_key|secret|password|passwd|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|private[_-]?key)("?\s*[:=]\s*"?)([^\s"',;&\[][^\s"',;&]{3,})"#,
            "${1}${2}[redacted]",
        ),
    ];
    table
        .iter()
        .filter_map(|(p, r)| Regex::new(p).ok().map(|re| (re, *r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_pattern_compiles() {
        assert_eq!(builtin_patterns().len(), 9);
    }

    #[test]
    fn masks_credential_shapes() {
        let r = Redactor::builtin();
        let cases = [
            "key AKIAIOSFODNN7EXAMPLE here",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "Authorization: Bearer abcdefghijklmnop.qrs",
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
            "postgres://admin:hunter2secret@db.internal:5432/app",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
            "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
            r#"{"password": "s3cr3t-value"}"#,
        ];
        let secrets = [
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI",
            "abcdefghijklmnop",
            "eyJhbGciOiJIUzI1NiJ9",
            "hunter2secret",
            "MIIEow",
            "ghp_0123456789",
            "s3cr3t-value",
        ];
        for (case, secret) in cases.iter().zip(secrets) {
            let out = r.text(case);
            assert!(!out.contains(secret), "{case:?} -> {out:?}");
            assert!(out.contains("redacted"), "{case:?} -> {out:?}");
        }
        assert_eq!(r.text("plain text, no secrets"), "plain text, no secrets");
        // Values masked upstream keep their marker.
        assert_eq!(r.text("password = [secret]"), "password = [secret]");
    }

    #[test]
    fn masks_env_and_configured_literals() {
        let env = vec![
            ("MY_SERVICE_TOKEN".to_string(), "tok-1234567890".to_string()),
            ("HOME".to_string(), "/root/home/dir".to_string()),
            ("CUSTOM".to_string(), "custom-value-42".to_string()),
        ];
        let r = Redactor::new(
            vec!["canary-S3CRET-value".to_string()],
            &[],
            env,
            &["CUSTOM".to_string()],
        );
        let out =
            r.text("a tok-1234567890 b /root/home/dir c custom-value-42 d canary-S3CRET-value");
        assert_eq!(
            out,
            "a [redacted] b /root/home/dir c [redacted] d [redacted]"
        );
    }

    #[test]
    fn json_masks_secret_keys_and_nested_strings() {
        let r = Redactor::new(vec!["canary-S3CRET-value".into()], &[], Vec::new(), &[]);
        let v = serde_json::json!({
            "query": "find canary-S3CRET-value",
            "db_password": "x",
            "nested": [{"api_key": 12345}],
            "flag": true
        });
        let out = r.json(&v).to_string();
        assert!(!out.contains("canary"), "{out}");
        assert!(!out.contains("12345"), "{out}");
        assert!(out.contains("\"flag\":true"), "{out}");
    }
}
