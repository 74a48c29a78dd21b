//! The escaping modes (JSON string content, HTML, form-urlencoded, raw) and the compact JSON
//! writer used for `{{json x}}` and for objects/arrays interpolated by `{{x}}`. Everything writes
//! into the bounded [`Out`] buffer in pieces, so an oversized render stops early.

use std::fmt::Write as _;

use serde_json::Value;

use super::{Escape, RenderError};

/// The output buffer with its byte cap.
pub(super) struct Out {
    pub(super) buf: String,
    max: usize,
}

impl Out {
    pub(super) fn new(max: usize, capacity: usize) -> Self {
        Out { buf: String::with_capacity(capacity), max }
    }

    /// Append `s`, or fail without appending when that would pass the cap.
    #[inline]
    pub(super) fn push(&mut self, s: &str) -> Result<(), RenderError> {
        if s.len() > self.max - self.buf.len() {
            return Err(RenderError::TooLarge { limit: self.max });
        }
        self.buf.push_str(s);
        Ok(())
    }
}

const fn table(bytes: &[u8], controls: bool, non_ascii: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (controls && i < 0x20) || (non_ascii && i >= 0x80);
        i += 1;
    }
    let mut j = 0;
    while j < bytes.len() {
        t[bytes[j] as usize] = true;
        j += 1;
    }
    t
}

/// Bytes that need work when escaping JSON string content (0xE2 may start U+2028/U+2029).
static JSON: [bool; 256] = table(b"\"\\<>&\xE2", true, false);
/// Bytes HTML escaping replaces.
static HTML: [bool; 256] = table(b"&<>\"'", false, false);
/// Bytes serde_json escapes inside a JSON string.
static JSON_TEXT: [bool; 256] = table(b"\"\\", true, false);

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// `\u00XX` (lowercase hex) for a control byte.
fn unicode_escape(b: u8) -> [u8; 6] {
    [b'\\', b'u', b'0', b'0', HEX_LOWER[(b >> 4) as usize], HEX_LOWER[(b & 0xF) as usize]]
}

fn ascii(bytes: &[u8]) -> &str {
    // Only ever called with ASCII built above.
    std::str::from_utf8(bytes).unwrap_or("")
}

/// Write `s` escaped per `esc`.
#[inline]
pub(super) fn write(out: &mut Out, s: &str, esc: Escape) -> Result<(), RenderError> {
    match esc {
        Escape::None => out.push(s),
        Escape::Json => json(out, s),
        Escape::Html => html(out, s),
        Escape::Form => form(out, s),
    }
}

// In the three escapers below every cut is at an ASCII byte or at the start of a multi-byte
// character (0xE2), so `s[start..i]` always falls on character boundaries.

fn json(out: &mut Out, s: &str) -> Result<(), RenderError> {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !JSON[b as usize] {
            i += 1;
            continue;
        }
        let buf;
        let (rep, len): (&str, usize) = match b {
            b'"' => ("\\\"", 1),
            b'\\' => ("\\\\", 1),
            b'\n' => ("\\n", 1),
            b'\r' => ("\\r", 1),
            b'\t' => ("\\t", 1),
            0x08 => ("\\b", 1),
            0x0C => ("\\f", 1),
            b'<' => ("\\u003c", 1),
            b'>' => ("\\u003e", 1),
            b'&' => ("\\u0026", 1),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => ("\\u2028", 3),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => ("\\u2029", 3),
            0xE2 => {
                i += 1;
                continue;
            }
            _ => {
                buf = unicode_escape(b);
                (ascii(&buf), 1)
            }
        };
        out.push(&s[start..i])?;
        out.push(rep)?;
        i += len;
        start = i;
    }
    out.push(&s[start..])
}

fn html(out: &mut Out, s: &str) -> Result<(), RenderError> {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if !HTML[b as usize] {
            continue;
        }
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        };
        out.push(&s[start..i])?;
        out.push(rep)?;
        start = i + 1;
    }
    out.push(&s[start..])
}

fn form(out: &mut Out, s: &str) -> Result<(), RenderError> {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            continue;
        }
        // The run before `i` is ASCII, so both ends are boundaries; skip empty runs, whose
        // `start` may sit inside a multi-byte character.
        if start < i {
            out.push(s.get(start..i).unwrap_or(""))?;
        }
        if b == b' ' {
            out.push("+")?;
        } else {
            let enc = [b'%', HEX_UPPER[(b >> 4) as usize], HEX_UPPER[(b & 0xF) as usize]];
            out.push(ascii(&enc))?;
        }
        start = i + 1;
    }
    if start < s.len() {
        out.push(s.get(start..).unwrap_or(""))?;
    }
    Ok(())
}

/// Write `v` as compact JSON text (byte for byte `serde_json::to_string`), every piece escaped
/// per `esc`. `scratch` is a reusable buffer for number formatting.
pub(super) fn write_json(out: &mut Out, v: &Value, esc: Escape, scratch: &mut String) -> Result<(), RenderError> {
    match v {
        Value::Null => write(out, "null", esc),
        Value::Bool(true) => write(out, "true", esc),
        Value::Bool(false) => write(out, "false", esc),
        Value::Number(n) => {
            scratch.clear();
            let _ = write!(scratch, "{n}");
            write(out, scratch, esc)
        }
        Value::String(s) => write_json_string(out, s, esc),
        Value::Array(items) => {
            write(out, "[", esc)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write(out, ",", esc)?;
                }
                write_json(out, item, esc, scratch)?;
            }
            write(out, "]", esc)
        }
        Value::Object(map) => {
            write(out, "{", esc)?;
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    write(out, ",", esc)?;
                }
                write_json_string(out, key, esc)?;
                write(out, ":", esc)?;
                write_json(out, item, esc, scratch)?;
            }
            write(out, "}", esc)
        }
    }
}

/// A JSON string literal the way serde_json writes it, then escaped per `esc`.
fn write_json_string(out: &mut Out, s: &str, esc: Escape) -> Result<(), RenderError> {
    write(out, "\"", esc)?;
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !JSON_TEXT[b as usize] {
            continue;
        }
        let buf;
        let rep = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0C => "\\f",
            _ => {
                buf = unicode_escape(b);
                ascii(&buf)
            }
        };
        if start < i {
            write(out, &s[start..i], esc)?;
        }
        write(out, rep, esc)?;
        start = i + 1;
    }
    if start < s.len() {
        write(out, &s[start..], esc)?;
    }
    write(out, "\"", esc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn esc(s: &str, mode: Escape) -> String {
        let mut out = Out::new(usize::MAX, 0);
        write(&mut out, s, mode).expect("fits");
        out.buf
    }

    fn json_text(v: &Value, mode: Escape) -> String {
        let mut out = Out::new(usize::MAX, 0);
        write_json(&mut out, v, mode, &mut String::new()).expect("fits");
        out.buf
    }

    #[test]
    fn json_mode() {
        assert_eq!(esc("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}", Escape::Json), "a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f");
        assert_eq!(esc("<a href='x'>&</a>", Escape::Json), "\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e");
        assert_eq!(esc("x\u{2028}y\u{2029}z\u{2027}€", Escape::Json), "x\\u2028y\\u2029z\u{2027}€");
        assert_eq!(esc("héllo wörld", Escape::Json), "héllo wörld");
    }

    #[test]
    fn html_mode() {
        assert_eq!(
            esc("<b class=\"x\">Tom & Jerry's</b>", Escape::Html),
            "&lt;b class=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/b&gt;"
        );
        assert_eq!(esc("plain é", Escape::Html), "plain é");
    }

    #[test]
    fn form_mode() {
        assert_eq!(esc("a b&c=d/é~._-", Escape::Form), "a+b%26c%3Dd%2F%C3%A9~._-");
        assert_eq!(esc("€", Escape::Form), "%E2%82%AC");
        assert_eq!(esc("x€y", Escape::Form), "x%E2%82%ACy");
        assert_eq!(esc("", Escape::Form), "");
    }

    #[test]
    fn json_text_matches_serde_json() {
        let v = json!({
            "s": "q\"b\\n\n\u{1}\u{7f}\u{2028}<é>",
            "n": [1, -2, 1.5, 1e300, 0.1, 18446744073709551615u64, -9223372036854775808i64],
            "b": [true, false, null],
            "o": {"": {}, "a": []},
        });
        let expected = serde_json::to_string(&v).expect("serialises");
        assert_eq!(json_text(&v, Escape::None), expected);
        assert_eq!(json_text(&v, Escape::Html), esc(&expected, Escape::Html));
        assert_eq!(json_text(&v, Escape::Json), esc(&expected, Escape::Json));
        assert_eq!(json_text(&v, Escape::Form), esc(&expected, Escape::Form));
    }

    #[test]
    fn out_cap() {
        let mut out = Out::new(5, 0);
        assert!(out.push("abc").is_ok());
        assert_eq!(out.push("abc"), Err(RenderError::TooLarge { limit: 5 }));
        assert!(out.push("ab").is_ok());
        assert_eq!(out.buf, "abcab");
    }
}
