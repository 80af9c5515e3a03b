//! Compact answers: an output budget every tool fills line by line, opaque cursors for
//! continuing where a budget stopped, and line clipping. Agents pay per token, so every tool
//! renders through these helpers rather than dumping.

use base64::Engine;
use serde::{Serialize, de::DeserializeOwned};

/// Longest single line of quoted text (source lines, messages), in characters.
pub const MAX_LINE_CHARS: usize = 200;

/// A byte budget for the text of one answer.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: usize,
    used: usize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { limit, used: 0 }
    }

    /// Appends `line` and a newline to `out` if it fits; returns false (and appends nothing)
    /// once the budget would be exceeded.
    pub fn push(&mut self, out: &mut String, line: &str) -> bool {
        let cost = line.len() + 1;
        if self.used + cost > self.limit {
            return false;
        }
        out.push_str(line);
        out.push('\n');
        self.used += cost;
        true
    }

    /// Whether `n` more bytes would fit.
    pub fn fits(&self, n: usize) -> bool {
        self.used + n <= self.limit
    }

    /// Reserves `n` bytes (for a header or footer written later).
    pub fn reserve(&mut self, n: usize) {
        self.used += n;
    }
}

/// Trims surrounding whitespace and cuts `text` to `max` characters, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    let trimmed = text.trim();
    if trimmed.chars().count() <= max {
        return trimmed.to_string();
    }
    let mut out: String = trimmed.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Last-resort cap on a whole answer: cuts at a character boundary and says so.
pub fn cap_text(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let marker = "\n[output truncated at the output budget; narrow the request]";
    let mut cut = limit.saturating_sub(marker.len());
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = text[..cut].to_string();
    out.push_str(marker);
    out
}

/// Encodes a cursor position as an opaque, URL-safe token.
pub fn encode_cursor<T: Serialize>(position: &T) -> String {
    let json = serde_json::to_vec(position).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor made by [`encode_cursor`]; `None` for anything else.
pub fn decode_cursor<T: DeserializeOwned>(token: &str) -> Option<T> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_stops_before_overflow() {
        let mut b = Budget::new(10);
        let mut out = String::new();
        assert!(b.push(&mut out, "abcd"));
        assert!(b.push(&mut out, "efgh"));
        assert!(!b.push(&mut out, "x"));
        assert_eq!(out, "abcd\nefgh\n");
    }

    #[test]
    fn clip_and_cap() {
        assert_eq!(clip("  hello  ", 10), "hello");
        assert_eq!(clip("héllo world", 5), "héll…");
        let capped = cap_text("é".repeat(100), 80);
        assert!(capped.len() <= 80, "{}", capped.len());
        assert!(capped.ends_with("narrow the request]"));
    }

    #[test]
    fn cursor_round_trip() {
        let token = encode_cursor(&("src/a.rs", 3u32));
        assert_eq!(
            decode_cursor::<(String, u32)>(&token),
            Some(("src/a.rs".into(), 3))
        );
        assert_eq!(decode_cursor::<(String, u32)>("!!garbage"), None);
    }
}
