//! Who is calling over HTTP: static bearer tokens (compared in constant time) or OAuth 2.1
//! access tokens (JWTs checked against a JWKS for signature, issuer, audience and expiry).
//!
//! Tokens are only ever checked here; nothing downstream receives them (no passthrough).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::http::HeaderMap;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{AuthConfig, AuthMode};
use crate::toolset::Identity;

/// Why a request was not authenticated; rendered into `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token was sent but is not acceptable; the text says why (never the token).
    Invalid(String),
}

/// Checks credentials of HTTP requests.
pub enum Authenticator {
    /// Loopback without auth: every caller is the local user.
    None,
    /// Static tokens, kept only as SHA-256 digests.
    Bearer {
        digests: Vec<[u8; 32]>,
        scopes: BTreeSet<String>,
    },
    /// JWT access tokens.
    OAuth(Box<JwtValidator>),
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authenticator::None => f.write_str("Authenticator::None"),
            Authenticator::Bearer { .. } => f.write_str("Authenticator::Bearer"),
            Authenticator::OAuth(_) => f.write_str("Authenticator::OAuth"),
        }
    }
}

type Key = (Option<String>, Algorithm, DecodingKey);

/// Where the trusted keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A JWKS document on disk.
    File(std::path::PathBuf),
    /// A JWKS document served by the authorization server.
    Url(String),
}

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

impl KeySource {
    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        let text = match self {
            KeySource::File(path) => tokio::fs::read_to_string(path)
                .await
                .with_context(|| format!("http.auth.jwks_file: cannot read {}", path.display()))?,
            KeySource::Url(url) => fetch_text(url).await?,
        };
        serde_json::from_str(&text).context("the JWKS is not a JWKS document ({\"keys\": [...]})")
    }
}

/// `https://` for anything but loopback, where plain `http://` is allowed for local issuers.
fn check_jwks_url(url: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url)
        .with_context(|| format!("http.auth.jwks_url: `{url}` is not a URL"))?;
    let loopback = matches!(
        parsed.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    );
    match parsed.scheme() {
        "https" => Ok(url.to_string()),
        "http" if loopback => Ok(url.to_string()),
        _ => bail!("http.auth.jwks_url must use https (plain http only on loopback): {url}"),
    }
}

async fn fetch_text(url: &str) -> anyhow::Result<String> {
    // One process-wide TLS provider; installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .context("cannot build an HTTP client for the JWKS")?;
    let response = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .with_context(|| format!("cannot fetch the JWKS from {url}"))?;
    if !response.status().is_success() {
        bail!(
            "fetching the JWKS from {url} returned {}",
            response.status()
        );
    }
    if response
        .content_length()
        .is_some_and(|n| n as usize > MAX_JWKS_BYTES)
    {
        bail!("the JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes");
    }
    let bytes = response
        .bytes()
        .await
        .with_context(|| format!("cannot read the JWKS from {url}"))?;
    if bytes.len() > MAX_JWKS_BYTES {
        bail!("the JWKS at {url} is larger than {MAX_JWKS_BYTES} bytes");
    }
    String::from_utf8(bytes.to_vec()).context("the JWKS is not UTF-8")
}

/// Validates JWTs for one issuer and audience. Keys from a URL are fetched again when a token
/// names a key id not yet known (key rotation), at most once per `refresh_min`.
pub struct JwtValidator {
    issuer: String,
    audience: String,
    leeway: u64,
    keys: tokio::sync::RwLock<Vec<Key>>,
    source: Option<KeySource>,
    refresh_min: Duration,
    last_refresh: tokio::sync::Mutex<Instant>,
}

/// Reads the configured bearer tokens (environment variable and/or file, one per line).
pub fn load_bearer_tokens(cfg: &AuthConfig) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::new();
    if let Some(var) = &cfg.token_env {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => tokens.push(v.trim().to_string()),
            _ => bail!("http.auth.token_env: environment variable {var} is not set or empty"),
        }
    }
    if let Some(file) = &cfg.token_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("http.auth.token_file: cannot read {}", file.display()))?;
        tokens.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    if tokens.is_empty() {
        bail!("http.auth: bearer mode is on but no token was found");
    }
    if let Some(short) = tokens.iter().find(|t| t.len() < 16) {
        bail!(
            "http.auth: a bearer token is {} characters long; use at least 16 random characters",
            short.len()
        );
    }
    Ok(tokens)
}

impl Authenticator {
    /// Builds the authenticator for the configured mode. `workspace` anchors relative paths.
    /// A JWKS URL is fetched here, so a server that cannot verify tokens does not start.
    pub async fn from_config(cfg: &AuthConfig, workspace: &Path) -> anyhow::Result<Self> {
        match cfg.mode {
            AuthMode::None => Ok(Self::None),
            AuthMode::Bearer => {
                let digests = load_bearer_tokens(cfg)?
                    .iter()
                    .map(|t| Sha256::digest(t.as_bytes()).into())
                    .collect();
                Ok(Self::Bearer {
                    digests,
                    scopes: cfg.token_scopes.iter().cloned().collect(),
                })
            }
            AuthMode::Oauth => {
                let source = match (&cfg.jwks_file, &cfg.jwks_url) {
                    (Some(file), _) => KeySource::File(workspace.join(file)),
                    (None, Some(url)) => KeySource::Url(check_jwks_url(url)?),
                    (None, None) => bail!("http.auth: oauth mode needs jwks_file or jwks_url"),
                };
                let set = source.fetch().await?;
                let validator = JwtValidator::new(
                    cfg.issuer.clone().unwrap_or_default(),
                    cfg.audience.clone().unwrap_or_default(),
                    cfg.leeway_secs,
                    &set,
                )?
                .with_source(source, Duration::from_secs(cfg.jwks_refresh_min_secs));
                Ok(Self::OAuth(Box::new(validator)))
            }
        }
    }

    /// Whether a bearer token is required at all.
    pub fn required(&self) -> bool {
        !matches!(self, Authenticator::None)
    }

    /// Authenticates one request from its headers.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Identity, AuthFailure> {
        if matches!(self, Authenticator::None) {
            return Ok(Identity::local_http());
        }
        let token = bearer_token(headers)?;
        match self {
            Authenticator::None => Ok(Identity::local_http()),
            Authenticator::Bearer { digests, scopes } => {
                let given: [u8; 32] = Sha256::digest(token.as_bytes()).into();
                // Compare against every digest without early exit, in constant time.
                let mut matched = subtle::Choice::from(0u8);
                for d in digests {
                    matched |= d.ct_eq(&given);
                }
                if bool::from(matched) {
                    Ok(Identity {
                        subject: format!("token:{}", &hex::encode(given)[..8]),
                        scopes: scopes.clone(),
                    })
                } else {
                    Err(AuthFailure::Invalid("the bearer token is not valid".into()))
                }
            }
            Authenticator::OAuth(v) => v.validate(token).await,
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthFailure> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(AuthFailure::Missing);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthFailure::Invalid("the Authorization header is not ASCII".into()))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthFailure::Invalid(
            "the Authorization header must be `Bearer <token>`".into(),
        ));
    }
    Ok(token.trim())
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<ScopeList>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScopeList {
    List(Vec<String>),
    Text(String),
}

fn keys_from(set: &JwkSet) -> anyhow::Result<Vec<Key>> {
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let alg = key_algorithm(jwk).with_context(|| {
            format!(
                "JWKS key {:?}: cannot tell its algorithm; set `alg` on the key",
                jwk.common.key_id
            )
        })?;
        let key = DecodingKey::from_jwk(jwk)
            .with_context(|| format!("JWKS key {:?} is not usable", jwk.common.key_id))?;
        keys.push((jwk.common.key_id.clone(), alg, key));
    }
    if keys.is_empty() {
        bail!("the JWKS document has no keys");
    }
    Ok(keys)
}

impl JwtValidator {
    /// Builds a validator; keys without a usable algorithm are refused at start-up.
    pub fn new(
        issuer: String,
        audience: String,
        leeway: u64,
        set: &JwkSet,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            issuer,
            audience,
            leeway,
            keys: tokio::sync::RwLock::new(keys_from(set)?),
            source: None,
            refresh_min: Duration::from_secs(60),
            last_refresh: tokio::sync::Mutex::new(Instant::now()),
        })
    }

    /// Lets the validator re-read its keys from `source` when it meets an unknown key id.
    pub fn with_source(mut self, source: KeySource, refresh_min: Duration) -> Self {
        self.source = Some(source);
        self.refresh_min = refresh_min;
        self
    }

    /// Re-reads the key set if allowed by the rate limit; returns whether keys changed.
    async fn refresh(&self) -> bool {
        let Some(source) = &self.source else {
            return false;
        };
        let mut last = self.last_refresh.lock().await;
        if last.elapsed() < self.refresh_min {
            return false;
        }
        *last = Instant::now();
        match source.fetch().await.and_then(|set| keys_from(&set)) {
            Ok(keys) => {
                *self.keys.write().await = keys;
                tracing::info!("JWKS refreshed");
                true
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "JWKS refresh failed; keeping the old keys");
                false
            }
        }
    }

    /// Validates signature, `iss`, `aud`, `exp` and `nbf`, and reads subject and scopes.
    pub async fn validate(&self, token: &str) -> Result<Identity, AuthFailure> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthFailure::Invalid("the token is not a JWT".into()))?;
        let first = self.try_keys(token, &header).await;
        if matches!(first, Err(AuthFailure::Invalid(ref why)) if why == UNKNOWN_KEY)
            && self.refresh().await
        {
            return self.try_keys(token, &header).await;
        }
        first
    }

    async fn try_keys(
        &self,
        token: &str,
        header: &jsonwebtoken::Header,
    ) -> Result<Identity, AuthFailure> {
        let keys = self.keys.read().await;
        let candidates: Vec<&Key> = keys
            .iter()
            .filter(|(kid, alg, _)| {
                *alg == header.alg
                    && (header.kid.is_none() || kid.as_deref() == header.kid.as_deref())
            })
            .collect();
        if candidates.is_empty() {
            return Err(AuthFailure::Invalid(UNKNOWN_KEY.into()));
        }
        let mut last = AuthFailure::Invalid("the token signature is not valid".into());
        for (_, alg, key) in candidates {
            let mut validation = Validation::new(*alg);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience]);
            validation.leeway = self.leeway;
            validation.validate_nbf = true;
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => return Ok(identity_from(data.claims)),
                Err(e) => last = AuthFailure::Invalid(describe_jwt_error(&e)),
            }
        }
        Err(last)
    }
}

const UNKNOWN_KEY: &str = "the token was not signed by a key this server trusts";

fn identity_from(claims: Claims) -> Identity {
    let mut scopes = BTreeSet::new();
    if let Some(s) = &claims.scope {
        scopes.extend(s.split_whitespace().map(str::to_string));
    }
    match claims.scp {
        Some(ScopeList::List(list)) => scopes.extend(list),
        Some(ScopeList::Text(s)) => scopes.extend(s.split_whitespace().map(str::to_string)),
        None => {}
    }
    let subject = claims
        .sub
        .or(claims.client_id)
        .unwrap_or_else(|| "unknown".to_string());
    Identity {
        subject: crate::render::clip(&subject, 128),
        scopes,
    }
}

fn key_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm};
    if let Some(alg) = jwk.common.key_algorithm {
        let name = match alg {
            KeyAlgorithm::RS256 => Algorithm::RS256,
            KeyAlgorithm::RS384 => Algorithm::RS384,
            KeyAlgorithm::RS512 => Algorithm::RS512,
            KeyAlgorithm::PS256 => Algorithm::PS256,
            KeyAlgorithm::PS384 => Algorithm::PS384,
            KeyAlgorithm::PS512 => Algorithm::PS512,
            KeyAlgorithm::ES256 => Algorithm::ES256,
            KeyAlgorithm::ES384 => Algorithm::ES384,
            KeyAlgorithm::EdDSA => Algorithm::EdDSA,
            // Symmetric and unknown algorithms are not accepted from a JWKS.
            _ => return None,
        };
        return Some(name);
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        _ => None,
    }
}

fn describe_jwt_error(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "the token was issued by an untrusted issuer".into(),
        ErrorKind::InvalidAudience => "the token is meant for another audience".into(),
        ErrorKind::InvalidSignature => "the token signature is not valid".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("the token has no `{c}` claim"),
        ErrorKind::InvalidAlgorithm => "the token uses an algorithm this key does not allow".into(),
        _ => "the token is malformed".into(),
    }
}
