//! The workspace root and the one function every path argument goes through, so that no
//! tool can read or write outside it (`..`, absolute paths and symlinks included).

use std::path::{Component, Path, PathBuf};

/// Why a path argument was refused.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("path `{0}` is outside the workspace")]
    Outside(String),
    #[error("path `{0}` does not exist in the workspace")]
    Missing(String),
    #[error("path `{path}` cannot be read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A canonical workspace root.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// Canonicalises `root` (it must exist and be a directory).
    pub fn new(root: &Path) -> std::io::Result<Self> {
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(Self { root })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a user-supplied path (relative to the root, or absolute inside it) to an
    /// existing canonical path inside the workspace. Symlinks are followed before the check,
    /// so a link pointing out of the workspace is refused.
    pub fn resolve(&self, arg: &str) -> Result<PathBuf, PathError> {
        let given = Path::new(arg);
        // Refuse lexically first, so the error does not depend on what exists outside.
        let joined = if given.is_absolute() {
            given.to_path_buf()
        } else {
            if given
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)))
                && !self.root.join(given).starts_with(&self.root)
            {
                return Err(PathError::Outside(arg.to_string()));
            }
            self.root.join(given)
        };
        let canonical = match joined.canonicalize() {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Do not reveal whether something exists outside the workspace.
                if !lexically_inside(&self.root, &joined) {
                    return Err(PathError::Outside(arg.to_string()));
                }
                return Err(PathError::Missing(arg.to_string()));
            }
            Err(source) => {
                if !lexically_inside(&self.root, &joined) {
                    return Err(PathError::Outside(arg.to_string()));
                }
                return Err(PathError::Io {
                    path: arg.to_string(),
                    source,
                });
            }
        };
        if canonical.starts_with(&self.root) {
            Ok(canonical)
        } else {
            Err(PathError::Outside(arg.to_string()))
        }
    }

    /// `path` relative to the root, with `/` separators, for display.
    pub fn display(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let s = rel.to_string_lossy().replace('\\', "/");
        if s.is_empty() { ".".to_string() } else { s }
    }
}

/// Whether `path`, with `.` and `..` folded lexically, stays under `root`.
fn lexically_inside(root: &Path, path: &Path) -> bool {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out.starts_with(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_ws() -> (PathBuf, Workspace) {
        let dir = std::env::temp_dir().join(format!(
            "fathom-ws-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/a.txt"), "a").unwrap();
        let ws = Workspace::new(&dir).unwrap();
        (dir, ws)
    }

    #[test]
    fn resolves_inside_and_refuses_escapes() {
        let (dir, ws) = temp_ws();
        assert!(ws.resolve("src/a.txt").is_ok());
        assert!(ws.resolve("src/../src/a.txt").is_ok());
        assert!(matches!(ws.resolve("../"), Err(PathError::Outside(_))));
        assert!(matches!(
            ws.resolve("/etc/passwd"),
            Err(PathError::Outside(_))
        ));
        assert!(matches!(
            ws.resolve("../../nonexistent"),
            Err(PathError::Outside(_))
        ));
        assert!(matches!(ws.resolve("nope.txt"), Err(PathError::Missing(_))));
        let abs = ws.root().join("src/a.txt");
        assert!(ws.resolve(abs.to_str().unwrap()).is_ok());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", dir.join("link")).unwrap();
            assert!(matches!(ws.resolve("link"), Err(PathError::Outside(_))));
            assert!(matches!(
                ws.resolve("link/passwd"),
                Err(PathError::Outside(_))
            ));
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
