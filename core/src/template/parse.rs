//! Template source to node tree: tags, delimiters, standalone-line whitespace, names pre-split on
//! `.`, and positioned compile errors.

use std::collections::{HashMap, HashSet};

use super::{TemplateError, MAX_DEPTH};

/// One part of a dotted name; `index` is set when the part is a number (array index).
#[derive(Debug, Clone)]
pub(super) struct Part {
    pub(super) key: Box<str>,
    pub(super) index: Option<usize>,
}

/// A name pre-split on `.`; no parts means the implicit iterator `.`.
#[derive(Debug, Clone)]
pub(super) struct Name(pub(super) Box<[Part]>);

impl Name {
    fn parse(raw: &str) -> Option<Name> {
        if raw == "." {
            return Some(Name(Box::new([])));
        }
        if raw.is_empty() || raw.chars().any(char::is_whitespace) {
            return None;
        }
        let mut parts = Vec::new();
        for key in raw.split('.') {
            if key.is_empty() {
                return None;
            }
            parts.push(Part { key: key.into(), index: key.parse().ok() });
        }
        Some(Name(parts.into_boxed_slice()))
    }

    fn is_implicit(&self) -> bool {
        self.0.is_empty()
    }
}

/// How a variable tag writes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VarKind {
    /// `{{x}}`: escaped per mode.
    Escaped,
    /// `{{{x}}}`, `{{& x}}`: raw.
    Raw,
    /// `{{json x}}`: JSON text, raw in Json/None modes, escaped in Html/Form.
    Json,
    /// `{{{json x}}}`, `{{& json x}}`: JSON text, raw in every mode.
    JsonRaw,
}

/// A node of the compiled tree.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(Box<str>),
    Var {
        name: Name,
        kind: VarKind,
    },
    Section {
        name: Name,
        inverted: bool,
        children: Vec<Node>,
    },
    Partial {
        /// Kept for `Debug`.
        #[allow(dead_code)]
        name: Box<str>,
        /// Index into the compiled partials; `None` when the partial does not exist.
        index: Option<usize>,
        /// `Some(whitespace)` for a standalone partial tag (its lines get indented).
        indent: Option<Box<str>>,
    },
}

/// Assigns indexes to the partials a template reaches and hands out their sources in order.
pub(super) struct Resolver<'a> {
    sources: Option<&'a HashMap<String, String>>,
    index: HashMap<&'a str, usize>,
    order: Vec<(&'a str, &'a str)>,
}

impl<'a> Resolver<'a> {
    pub(super) fn new(sources: Option<&'a HashMap<String, String>>) -> Self {
        Resolver { sources, index: HashMap::new(), order: Vec::new() }
    }

    fn resolve(&mut self, name: &str) -> Option<usize> {
        if let Some(&i) = self.index.get(name) {
            return Some(i);
        }
        let (key, src) = self.sources?.get_key_value(name)?;
        let i = self.order.len();
        self.order.push((key.as_str(), src.as_str()));
        self.index.insert(key.as_str(), i);
        Some(i)
    }

    /// The `i`-th partial to compile (name, source), if any is left.
    pub(super) fn pending(&self, i: usize) -> Option<(&'a str, &'a str)> {
        self.order.get(i).copied()
    }
}

/// What names a template looks up (for `Template::uses`).
#[derive(Default)]
pub(super) struct Usage {
    pub(super) names: HashSet<Box<str>>,
    pub(super) root: bool,
}

/// A rough initial output capacity for rendering `nodes` (at most 64 KiB).
pub(super) fn size_hint(nodes: &[Node]) -> usize {
    fn walk(nodes: &[Node]) -> usize {
        nodes.iter().fold(0usize, |n, node| {
            n.saturating_add(match node {
                Node::Text(t) => t.len(),
                Node::Var { .. } => 32,
                Node::Section { children, .. } => walk(children).saturating_mul(2),
                Node::Partial { .. } => 64,
            })
        })
    }
    walk(nodes).saturating_add(64).min(64 * 1024)
}

fn position(src: &str, offset: usize) -> (usize, usize) {
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn error(src: &str, offset: usize, message: String) -> TemplateError {
    let (line, column) = position(src, offset);
    TemplateError { line, column, message }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Var,
    Raw,
    Comment,
    Open,
    Inverted,
    Close,
    Partial,
    Delimiters,
}

struct Frame<'s> {
    raw: &'s str,
    name: Name,
    inverted: bool,
    offset: usize,
    parent: Vec<Node>,
}

fn push_text(nodes: &mut Vec<Node>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Node::Text(prev)) = nodes.last_mut() {
        let mut joined = String::with_capacity(prev.len() + text.len());
        joined.push_str(prev);
        joined.push_str(text);
        *prev = joined.into_boxed_str();
    } else {
        nodes.push(Node::Text(text.into()));
    }
}

fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| b == b' ' || b == b'\t')
}

/// Parse `src` (starting with the default `{{ }}` delimiters) into a node tree.
pub(super) fn parse(src: &str, resolver: &mut Resolver<'_>, usage: &mut Usage) -> Result<Vec<Node>, TemplateError> {
    let mut otag = String::from("{{");
    let mut ctag = String::from("}}");
    let mut nodes: Vec<Node> = Vec::new();
    let mut frames: Vec<Frame<'_>> = Vec::new();
    // Start of the text not yet emitted (end of the previous tag, or past its standalone line).
    let mut cursor = 0;

    loop {
        let Some(rel) = src[cursor..].find(otag.as_str()) else {
            push_text(&mut nodes, &src[cursor..]);
            break;
        };
        let start = cursor + rel;
        let inner = start + otag.len();
        let unclosed = |close: &str| error(src, start, format!("unclosed tag: expected `{close}`"));

        // Classify the tag and find its content and end.
        let (kind, content, end) = if src[inner..].starts_with('{') {
            let close = format!("}}{ctag}");
            let Some(r) = src[inner + 1..].find(&close) else {
                return Err(error(src, start, format!("unclosed triple mustache: expected `{close}`")));
            };
            let c = inner + 1 + r;
            (Kind::Raw, &src[inner + 1..c], c + close.len())
        } else {
            let rest = &src[inner..];
            let sigil_at = inner + (rest.len() - rest.trim_start_matches([' ', '\t']).len());
            let sigil = src[sigil_at..].chars().next();
            let kind = match sigil {
                Some('=') => Kind::Delimiters,
                Some('!') => Kind::Comment,
                Some('#') => Kind::Open,
                Some('^') => Kind::Inverted,
                Some('/') => Kind::Close,
                Some('>') => Kind::Partial,
                Some('&') => Kind::Raw,
                _ => Kind::Var,
            };
            let body = if kind == Kind::Var { inner } else { sigil_at + 1 };
            let close = if kind == Kind::Delimiters { format!("={ctag}") } else { ctag.clone() };
            let Some(r) = src[body..].find(&close) else {
                return Err(unclosed(&close));
            };
            (kind, &src[body..body + r], body + r + close.len())
        };

        // A tag name never spans lines or holds another tag: report the missing close instead.
        if !matches!(kind, Kind::Comment | Kind::Delimiters)
            && (content.contains('\n') || content.contains(otag.as_str()))
        {
            let close = if src[inner..].starts_with('{') { format!("}}{ctag}") } else { ctag.clone() };
            return Err(unclosed(&close));
        }

        // Standalone lines: a non-interpolating tag alone on its line (but for spaces and tabs)
        // takes the whole line, its newline included, out of the output.
        let mut text_end = start;
        let mut next = end;
        let mut standalone_indent = None;
        if !matches!(kind, Kind::Var | Kind::Raw) {
            let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
            if cursor <= line_start && is_blank(&src[line_start..start]) {
                let after = &src[end..];
                let ws = after.len() - after.trim_start_matches([' ', '\t']).len();
                let tail = &after[ws..];
                let eol = if tail.is_empty() {
                    Some(0)
                } else if tail.starts_with('\n') {
                    Some(1)
                } else if tail.starts_with("\r\n") {
                    Some(2)
                } else {
                    None
                };
                if let Some(eol) = eol {
                    text_end = line_start;
                    next = end + ws + eol;
                    standalone_indent = Some(&src[line_start..start]);
                }
            }
        }
        push_text(&mut nodes, &src[cursor..text_end]);
        cursor = next;

        let trimmed = content.trim();
        match kind {
            Kind::Comment => {}
            Kind::Delimiters => {
                let mut parts = trimmed.split_whitespace();
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(o), Some(c), None) if !o.contains('=') && !c.contains('=') => {
                        otag = o.to_string();
                        ctag = c.to_string();
                    }
                    _ => {
                        return Err(error(
                            src,
                            start,
                            format!(
                                "invalid set-delimiter tag `{trimmed}`: expected two delimiters \
                                 without `=` or spaces, like `{otag}=<% %>={ctag}`"
                            ),
                        ))
                    }
                }
            }
            Kind::Var | Kind::Raw => {
                if trimmed.is_empty() {
                    return Err(error(src, start, "empty tag name".to_string()));
                }
                let raw = kind == Kind::Raw;
                let json_path =
                    trimmed.strip_prefix("json").filter(|rest| rest.starts_with(char::is_whitespace)).map(str::trim);
                let (name, kind) = if let Some(path) = json_path {
                    let Some(name) = Name::parse(path) else {
                        return Err(error(
                            src,
                            start,
                            format!(
                                "invalid `json` tag: expected one name after `json` \
                                 (like `json event` or `json .`), got `{path}`"
                            ),
                        ));
                    };
                    (name, if raw { VarKind::JsonRaw } else { VarKind::Json })
                } else {
                    let Some(name) = Name::parse(trimmed) else {
                        return Err(invalid_name(src, start, trimmed));
                    };
                    (name, if raw { VarKind::Raw } else { VarKind::Escaped })
                };
                record(usage, &name, &frames);
                nodes.push(Node::Var { name, kind });
            }
            Kind::Open | Kind::Inverted => {
                if trimmed.is_empty() {
                    return Err(error(src, start, "empty section name".to_string()));
                }
                let Some(name) = Name::parse(trimmed) else {
                    return Err(invalid_name(src, start, trimmed));
                };
                if frames.len() >= MAX_DEPTH {
                    return Err(error(src, start, format!("sections nested more than {MAX_DEPTH} levels deep")));
                }
                record(usage, &name, &frames);
                frames.push(Frame {
                    raw: trimmed,
                    name,
                    inverted: kind == Kind::Inverted,
                    offset: start,
                    parent: std::mem::take(&mut nodes),
                });
            }
            Kind::Close => {
                if trimmed.is_empty() {
                    return Err(error(src, start, "empty closing tag name".to_string()));
                }
                let Some(frame) = frames.pop() else {
                    return Err(error(src, start, format!("closing tag `{trimmed}` without an open section")));
                };
                if frame.raw != trimmed {
                    let (l, c) = position(src, frame.offset);
                    return Err(error(
                        src,
                        start,
                        format!("section `{}` opened at {l}:{c} closed by `{trimmed}`", frame.raw),
                    ));
                }
                let children = std::mem::replace(&mut nodes, frame.parent);
                nodes.push(Node::Section { name: frame.name, inverted: frame.inverted, children });
            }
            Kind::Partial => {
                if trimmed.is_empty() {
                    return Err(error(src, start, "empty partial name".to_string()));
                }
                nodes.push(Node::Partial {
                    name: trimmed.into(),
                    index: resolver.resolve(trimmed),
                    indent: standalone_indent.map(Into::into),
                });
            }
        }
    }

    if let Some(frame) = frames.last() {
        let (l, c) = position(src, frame.offset);
        return Err(error(src, frame.offset, format!("unclosed section `{}` opened at {l}:{c}", frame.raw)));
    }
    Ok(nodes)
}

fn invalid_name(src: &str, offset: usize, raw: &str) -> TemplateError {
    error(
        src,
        offset,
        format!("invalid name `{raw}`: names are `.` or dot-separated keys without spaces, like `event.data.name`"),
    )
}

/// Note the name's first part; an implicit iterator outside non-`.` sections reads the root.
fn record(usage: &mut Usage, name: &Name, frames: &[Frame<'_>]) {
    match name.0.first() {
        Some(first) => {
            if !usage.names.contains(&*first.key) {
                usage.names.insert(first.key.clone());
            }
        }
        None => {
            if frames.iter().all(|f| f.name.is_implicit()) {
                usage.root = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> Result<Vec<Node>, TemplateError> {
        let mut resolver = Resolver::new(None);
        let mut usage = Usage::default();
        parse(src, &mut resolver, &mut usage)
    }

    fn err(src: &str) -> (usize, usize, String) {
        let e = parse_str(src).expect_err("should fail");
        (e.line, e.column, e.message)
    }

    #[test]
    fn names_pre_split() {
        let nodes = parse_str("{{a.b.0}}").expect("parses");
        let Some(Node::Var { name, kind }) = nodes.first() else {
            panic!("expected a variable, got {nodes:?}");
        };
        assert_eq!(*kind, VarKind::Escaped);
        let keys: Vec<_> = name.0.iter().map(|p| &*p.key).collect();
        assert_eq!(keys, ["a", "b", "0"]);
        assert_eq!(name.0[2].index, Some(0));
    }

    #[test]
    fn positions() {
        assert_eq!(position("ab\ncd", 4), (2, 2));
        assert_eq!(position("é{{", 2), (1, 2));
        assert_eq!(err("x\n\n    {{#event.data}}"), (3, 5, "unclosed section `event.data` opened at 3:5".to_string()));
        assert_eq!(err("{{#a}}\n  {{/b}}"), (2, 3, "section `a` opened at 1:1 closed by `b`".to_string()));
        assert_eq!(err("ok {{/b}}"), (1, 4, "closing tag `b` without an open section".to_string()));
        assert_eq!(err("a {{b"), (1, 3, "unclosed tag: expected `}}`".to_string()));
        assert_eq!(err("a {{b\n}}"), (1, 3, "unclosed tag: expected `}}`".to_string()));
        assert_eq!(err("{{{b}}"), (1, 1, "unclosed triple mustache: expected `}}}`".to_string()));
        assert_eq!(err("{{ }}").2, "empty tag name");
        assert_eq!(err("{{#}}{{/}}").2, "empty section name");
        assert!(err("{{=<%=}}").2.starts_with("invalid set-delimiter tag"));
        assert!(err("{{=<% %> x=}}").2.starts_with("invalid set-delimiter tag"));
        assert!(err("{{json a b}}").2.starts_with("invalid `json` tag"));
        assert!(err("{{a..b}}").2.starts_with("invalid name `a..b`"));
        assert!(err("{{a b}}").2.starts_with("invalid name `a b`"));
    }

    #[test]
    fn depth_limit() {
        let ok = "{{#a}}".repeat(MAX_DEPTH) + &"{{/a}}".repeat(MAX_DEPTH);
        assert!(parse_str(&ok).is_ok());
        let deep = "{{#a}}".repeat(MAX_DEPTH + 1) + &"{{/a}}".repeat(MAX_DEPTH + 1);
        let (line, column, message) = err(&deep);
        assert_eq!((line, column), (1, 6 * MAX_DEPTH + 1));
        assert_eq!(message, "sections nested more than 64 levels deep");
    }

    #[test]
    fn json_tag_and_plain_json_variable() {
        let nodes = parse_str("{{json}}{{json .}}{{{json a}}}{{& json a.b}}").expect("parses");
        let kinds: Vec<_> = nodes
            .iter()
            .map(|n| match n {
                Node::Var { kind, .. } => *kind,
                _ => panic!("unexpected {n:?}"),
            })
            .collect();
        assert_eq!(kinds, [VarKind::Escaped, VarKind::Json, VarKind::JsonRaw, VarKind::JsonRaw]);
    }
}
