//! Reading a state document of any supported kind: Terraform/OpenTofu state v4, the
//! `terraform show -json` state form, Pulumi file-backend stack files (checkpoint v1–v4, and
//! the old unversioned form) and `pulumi stack export` deployments, plain or gzip-compressed.
//!
//! One pass over the bytes: the top level is deserialised into a union of the formats' fields,
//! with attributes kept raw. Unknown fields are ignored, so newer engines still read.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

use std::sync::Arc;

use super::model::{Snapshot, Source};
use super::{pulumi, terraform};

/// Why a state could not be read. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is empty")]
    Empty { path: String },
    #[error("{path} is {size} bytes, over the {limit}-byte ceiling (state.max_bytes)")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path} is truncated: the JSON ends early ({detail})")]
    Truncated { path: String, detail: String },
    #[error("{path} is not valid JSON: {detail}")]
    Corrupt { path: String, detail: String },
    #[error(
        "{path} is OpenTofu state encrypted with client-side encryption; fathom cannot read it. \
         Run `tofu show -json` with the encryption key configured, and save the output inside \
         the workspace for fathom to read, or configure the stack to be read through the CLI"
    )]
    Encrypted { path: String },
    #[error("{path} has {what} version {found}; fathom reads up to {supported}")]
    FutureVersion {
        path: String,
        what: &'static str,
        found: u64,
        supported: u64,
    },
    #[error("{path} is JSON but not a Terraform, OpenTofu or Pulumi state ({detail})")]
    Unrecognized { path: String, detail: String },
}

/// Top-level fields of every supported format. Attributes stay raw.
#[derive(Debug, Deserialize)]
pub(crate) struct AnyState<'a> {
    // Terraform state v4 and Pulumi checkpoints/deployments.
    pub version: Option<u64>,
    // Terraform v4.
    pub terraform_version: Option<String>,
    pub serial: Option<u64>,
    pub lineage: Option<String>,
    #[serde(borrow)]
    pub outputs: Option<BTreeMap<String, terraform::RawOutput<'a>>>,
    #[serde(borrow)]
    pub resources: Option<Vec<terraform::RawResource<'a>>>,
    // `terraform show -json`.
    pub format_version: Option<String>,
    #[serde(borrow)]
    pub values: Option<terraform::ShowValues<'a>>,
    // Pulumi.
    #[serde(borrow)]
    pub checkpoint: Option<pulumi::RawCheckpoint<'a>>,
    #[serde(borrow)]
    pub deployment: Option<pulumi::RawDeployment<'a>>,
    #[serde(borrow)]
    pub latest: Option<pulumi::RawDeployment<'a>>,
    pub features: Option<Vec<String>>,
    // OpenTofu client-side encryption.
    #[serde(borrow)]
    pub encrypted_data: Option<&'a RawValue>,
    #[serde(borrow)]
    pub encryption_version: Option<&'a RawValue>,
}

/// Newest Terraform state version understood.
pub const TERRAFORM_STATE_VERSION: u64 = 4;
/// Newest Pulumi checkpoint / deployment version understood.
pub const PULUMI_VERSION: u64 = 4;

/// Reads a state file, refusing files over `limit` bytes before reading them.
pub fn read_file(path: &Path, display: &str, limit: u64) -> Result<Snapshot, StateError> {
    let io = |source| StateError::Io {
        path: display.to_string(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > limit {
        return Err(StateError::TooLarge {
            path: display.to_string(),
            size,
            limit,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    parse(bytes, display, limit)
}

/// Parses state bytes (gzip is detected by its magic number). The snapshot keeps the text
/// and points into it, so attributes are never copied.
pub fn parse(bytes: Vec<u8>, display: &str, limit: u64) -> Result<Snapshot, StateError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| StateError::Corrupt {
                path: display.to_string(),
                detail: format!("gzip stream is damaged: {e}"),
            })?;
        if out.len() as u64 > limit {
            return Err(StateError::TooLarge {
                path: display.to_string(),
                size: out.len() as u64,
                limit,
            });
        }
        return parse_json(out, display);
    }
    parse_json(bytes, display)
}

fn parse_json(bytes: Vec<u8>, display: &str) -> Result<Snapshot, StateError> {
    let mut snapshot = parse_document(bytes, display)?;
    snapshot.index_types();
    Ok(snapshot)
}

fn parse_document(bytes: Vec<u8>, display: &str) -> Result<Snapshot, StateError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(StateError::Empty {
            path: display.to_string(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| StateError::Corrupt {
        path: display.to_string(),
        detail: format!("not UTF-8 text ({e})"),
    })?;
    let source = Source::new(Arc::new(text));
    let any: AnyState = serde_json::from_str(source.text()).map_err(|e| {
        let detail = e.to_string();
        if e.is_eof() {
            StateError::Truncated {
                path: display.to_string(),
                detail,
            }
        } else if e.is_data() {
            StateError::Unrecognized {
                path: display.to_string(),
                detail,
            }
        } else {
            StateError::Corrupt {
                path: display.to_string(),
                detail,
            }
        }
    })?;
    if any.encrypted_data.is_some() || any.encryption_version.is_some() {
        return Err(StateError::Encrypted {
            path: display.to_string(),
        });
    }
    if any.checkpoint.is_some() || any.deployment.is_some() || any.latest.is_some() {
        return pulumi::convert(any, &source, display);
    }
    if any.format_version.is_some() || any.values.is_some() {
        return terraform::convert_show(any, &source, display);
    }
    if any.resources.is_some() || any.terraform_version.is_some() || any.lineage.is_some() {
        return terraform::convert_v4(any, &source, display);
    }
    Err(StateError::Unrecognized {
        path: display.to_string(),
        detail: "no `resources`, `values`, `checkpoint` or `deployment` at the top level".into(),
    })
}

/// Deserialises `null` as the type's default: real states write `null` for empty lists.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
