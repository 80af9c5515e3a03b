//! Positions and URIs. The tool API counts lines and columns from 1, columns in characters
//! (Unicode scalar values); language servers count from 0 in the encoding negotiated at
//! `initialize` (UTF-8, or UTF-16 by default). Everything converts here, once.

use std::path::{Path, PathBuf};

/// A position encoding a server agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    /// The encoding named in `InitializeResult.capabilities.positionEncoding` (UTF-16 if absent).
    pub fn from_lsp(name: Option<&str>) -> Self {
        match name {
            Some("utf-8") => Encoding::Utf8,
            Some("utf-32") => Encoding::Utf32,
            _ => Encoding::Utf16,
        }
    }

    fn width(self, c: char) -> u32 {
        match self {
            Encoding::Utf8 => c.len_utf8() as u32,
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf32 => 1,
        }
    }
}

/// The server column for the 0-based character column `chars` of `line`.
pub fn to_server_col(line: &str, chars: u32, enc: Encoding) -> u32 {
    line.chars()
        .take(chars as usize)
        .map(|c| enc.width(c))
        .sum()
}

/// The 0-based character column for server column `col` of `line` (clamped to the line).
pub fn from_server_col(line: &str, col: u32, enc: Encoding) -> u32 {
    let mut units = 0u32;
    let mut chars = 0u32;
    for c in line.chars() {
        if units >= col {
            break;
        }
        units += enc.width(c);
        chars += 1;
    }
    chars
}

/// Line `n` (0-based) of `text`, without its line ending.
pub fn line_of(text: &str, n: u32) -> &str {
    text.split('\n')
        .nth(n as usize)
        .map_or("", |l| l.strip_suffix('\r').unwrap_or(l))
}

/// `file://` URI of an absolute path, percent-encoding what URIs do not allow.
pub fn path_to_uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path of a `file://` URI, or `None` for other schemes.
pub fn uri_to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    // `file://host/path` is not a local file; `file:///path` has an empty host.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(PathBuf::from(String::from_utf8_lossy(&out).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_convert_through_astral_and_accented_characters() {
        let line = "let café = \"😀\" + x;";
        // `x` is character 17.
        let x = line.chars().position(|c| c == 'x').unwrap() as u32;
        let u16 = to_server_col(line, x, Encoding::Utf16);
        let u8 = to_server_col(line, x, Encoding::Utf8);
        assert_eq!(u16, x + 1, "the emoji is two UTF-16 units");
        assert_eq!(u8, x + 1 + 3, "é is 2 bytes, the emoji 4");
        assert_eq!(from_server_col(line, u16, Encoding::Utf16), x);
        assert_eq!(from_server_col(line, u8, Encoding::Utf8), x);
        assert_eq!(
            from_server_col(line, 999, Encoding::Utf16),
            line.chars().count() as u32
        );
    }

    #[test]
    fn uris_round_trip_spaces_and_unicode() {
        let p = Path::new("/tmp/a dir/naïve#1.ts");
        let uri = path_to_uri(p);
        assert_eq!(uri, "file:///tmp/a%20dir/na%C3%AFve%231.ts");
        assert_eq!(uri_to_path(&uri).unwrap(), p);
        assert_eq!(uri_to_path("https://x/y"), None);
        assert_eq!(line_of("a\r\nb\n", 0), "a");
        assert_eq!(line_of("a\r\nb\n", 1), "b");
    }
}
