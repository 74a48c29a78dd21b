//! The Mustache body-template engine: compiles a webhook body template once and renders it many
//! times against a JSON context, with escaping chosen by the body's content type, positioned
//! compile errors and bounded output. Pure (no I/O), so it runs in the server's dispatcher and in
//! the browser (WASM) for the live preview.
//!
//! # Language
//!
//! The full core [Mustache spec](https://github.com/mustache/spec) (v1.4): variables `{{x}}`,
//! unescaped `{{{x}}}` / `{{& x}}`, sections `{{#x}}…{{/x}}` over lists, objects and other
//! truthy values, inverted sections `{{^x}}…{{/x}}`, comments `{{! … }}`, set-delimiter
//! `{{=<% %>=}}`, partials `{{> name}}` (with standalone indentation), standalone-line whitespace
//! rules, dotted names (`event.data.name`: the first part is looked up through the context stack,
//! the rest only inside that value) and the implicit iterator `{{.}}`. The optional spec modules
//! (lambdas, inheritance, dynamic names) are not supported.
//!
//! Falsey for sections: `null`, `false`, an empty list and a missing name. Everything else,
//! including `""` and `0`, is truthy (the spec leaves this to the host language; this is the
//! JSON reading). Names may not contain whitespace, and `a..b`-style empty parts are errors.
//!
//! Values interpolated by `{{x}}`: strings as they are, numbers and booleans as their JSON text
//! (`1`, `1.5`, `true`), `null` and missing names as nothing, objects and arrays as their compact
//! JSON text; then the result is escaped per [`Escape`].
//!
//! # Extensions
//!
//! * `{{json path}}`: the value at `path` (a name such as `event`, `event.data` or `.`) as
//!   compact JSON text, byte for byte what `serde_json::to_string` gives, `null` when missing.
//!   It is a JSON *value*, so a JSON body can embed a whole object:
//!   `{"payload": {{json event}}, "data": {{json event.data}}}`. In [`Escape::Json`] and
//!   [`Escape::None`] it is inserted raw; in [`Escape::Html`] it is HTML-escaped and in
//!   [`Escape::Form`] percent-encoded. `{{{json path}}}` and `{{& json path}}` insert it raw in
//!   every mode. A plain `{{json}}` (no path) is still the variable named `json`.
//! * Dotted names index arrays with a number after the first part: `{{event.tags.0.value}}`.
//!
//! # Limits
//!
//! Rendering stops with [`RenderError::TooLarge`] as soon as the output would pass the cap
//! ([`MAX_OUTPUT_BYTES`] or the one given to [`Template::render_limited`]), with
//! [`RenderError::TooDeep`] when sections and partials nest deeper than [`MAX_DEPTH`] (recursive
//! partials) and with [`RenderError::TooMuchWork`] after [`MAX_STEPS`] steps (node visits; see
//! [`RenderLimits`] to choose other bounds). Compiling rejects sections nested deeper than
//! [`MAX_DEPTH`].
//!
//! The step budget exists because the output cap alone cannot bound the time a render takes:
//! sections nested over lists multiply (eight nested `{{#a}}` over a ten-item `a` visit the
//! innermost body 10^8 times), and when the bodies are empty nothing is ever written, so the
//! output cap never trips and one template could keep a server thread busy for minutes.

mod escape;
mod parse;
mod render;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use parse::Node;

/// The default cap on a rendered body: 1 MiB.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// How deep sections may nest (at compile time) and sections plus partials may nest at render
/// time (which bounds partial recursion).
pub const MAX_DEPTH: usize = 64;

/// The default work budget of one render: at most this many steps, where a step is one node
/// visit (a piece of text, a variable, a section or partial tag) or one iteration of a section
/// over a list. Real webhook bodies take hundreds to a few tens of thousands of steps.
///
/// Why a budget and not just [`MAX_OUTPUT_BYTES`]: nested sections over lists do work that grows
/// exponentially with the nesting, and with empty bodies (`{{#a}}{{#a}}…{{/a}}{{/a}}`) they write
/// nothing, so the output cap never trips. Counting steps bounds the time of every render.
pub const MAX_STEPS: u64 = 1_000_000;

/// The bounds of one render: output size and work. [`Template::render`],
/// [`Template::render_limited`] and [`Template::render_with`] use the defaults
/// ([`RenderLimits::DEFAULT`]) for whatever they do not take as an argument;
/// [`Template::render_with_limits`] takes both.
///
/// ```
/// use hookline_core::template::{Escape, RenderLimits, Template};
/// let limits = RenderLimits { max_steps: 10_000, ..RenderLimits::default() };
/// let t = Template::compile("{{#a}}{{.}}{{/a}}").unwrap();
/// assert_eq!(t.render_with_limits(&serde_json::json!({"a": [1, 2]}), Escape::None, limits).unwrap(), "12");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RenderLimits {
    /// Cap on the rendered body in bytes ([`RenderError::TooLarge`] past it).
    pub max_bytes: usize,
    /// Work budget in steps ([`RenderError::TooMuchWork`] past it); see [`MAX_STEPS`].
    pub max_steps: u64,
}

impl RenderLimits {
    /// [`MAX_OUTPUT_BYTES`] and [`MAX_STEPS`].
    pub const DEFAULT: RenderLimits = RenderLimits { max_bytes: MAX_OUTPUT_BYTES, max_steps: MAX_STEPS };
}

impl Default for RenderLimits {
    fn default() -> Self {
        RenderLimits::DEFAULT
    }
}

/// How `{{x}}` escapes the interpolated text; chosen from the body's content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Escape {
    /// Safe inside a JSON string literal: `"` `\` and control characters escaped the JSON way,
    /// `<` `>` `&` U+2028 U+2029 as `\u003c`-style escapes (safe when the JSON lands in HTML/JS).
    Json,
    /// HTML escaping: `&amp; &lt; &gt; &quot; &#39;`.
    Html,
    /// `application/x-www-form-urlencoded` percent-encoding: `A-Za-z0-9-._~` kept, space as `+`,
    /// every other UTF-8 byte as `%XX` (uppercase hex).
    Form,
    /// No escaping.
    None,
}

impl Escape {
    /// From a Content-Type header value, case-insensitive, parameters (`; charset=...`) ignored:
    /// `application/json`, `text/json` and any `+json` suffix (e.g. `application/vnd.api+json`) -> Json;
    /// `text/html`, `application/xhtml+xml`, `text/xml`, `application/xml`, `+xml` -> Html;
    /// `application/x-www-form-urlencoded` -> Form; everything else (text/plain, ...) -> None.
    pub fn for_content_type(content_type: &str) -> Escape {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        let is = |s: &str| essence.eq_ignore_ascii_case(s);
        let ends = |suffix: &str| {
            essence.len() >= suffix.len()
                && essence.as_bytes()[essence.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
        };
        if is("application/json") || is("text/json") || ends("+json") {
            Escape::Json
        } else if is("text/html")
            || is("application/xhtml+xml")
            || is("text/xml")
            || is("application/xml")
            || ends("+xml")
        {
            Escape::Html
        } else if is("application/x-www-form-urlencoded") {
            Escape::Form
        } else {
            Escape::None
        }
    }
}

/// A template that failed to compile: where (1-based line and column of the offending tag's
/// opening delimiter, in characters) and why. For an error inside a partial the position is in
/// the partial's source and the message starts with "in partial `name`: ".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong, e.g. "unclosed section `event.data` opened at 3:5".
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for TemplateError {}

/// Why a compiled template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    /// The output would exceed `limit` bytes; rendering stopped there.
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// Sections and partials nest deeper than `limit` (usually a recursive partial).
    TooDeep {
        /// The nesting bound ([`MAX_DEPTH`]).
        limit: usize,
    },
    /// The render would take more than `limit` steps (node visits and section iterations);
    /// rendering stopped there. Usually sections nested over lists, whose work multiplies even
    /// when they write nothing (so [`RenderError::TooLarge`] cannot catch them).
    TooMuchWork {
        /// The work budget in steps ([`MAX_STEPS`] unless set by [`RenderLimits`]).
        limit: u64,
    },
}

fn human_bytes(n: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::TooLarge { limit } => {
                write!(f, "the rendered body would exceed {}", human_bytes(*limit))
            }
            RenderError::TooDeep { limit } => write!(
                f,
                "the template nests sections and partials more than {limit} levels deep \
                 (a partial that includes itself without end?)"
            ),
            RenderError::TooMuchWork { limit } => {
                write!(f, "template does too much work: more than {limit} steps (nested sections over large lists?)")
            }
        }
    }
}

impl std::error::Error for RenderError {}

/// A compiled template: parse once, render many times. Cheap to clone (shared), `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Template {
    inner: Arc<Compiled>,
}

#[derive(Debug)]
struct Compiled {
    nodes: Vec<Node>,
    /// Compiled partials, indexed by `Node::Partial::index`.
    partials: Vec<Vec<Node>>,
    /// First parts of every name the template (or a partial it includes) looks up.
    names: HashSet<Box<str>>,
    /// The template interpolates the whole root context (`{{.}}`, `{{json .}}` outside sections).
    uses_root: bool,
    /// Initial output capacity.
    size_hint: usize,
}

impl Template {
    /// Compile a template without partials (`{{> name}}` renders as empty).
    pub fn compile(source: &str) -> Result<Template, TemplateError> {
        Self::build(source, None)
    }

    /// Compile with named partials (`{{> name}}`); missing partials render as empty (spec).
    /// Only partials the template reaches are compiled; an error in one names it.
    pub fn compile_with_partials(source: &str, partials: &HashMap<String, String>) -> Result<Template, TemplateError> {
        Self::build(source, Some(partials))
    }

    fn build(source: &str, sources: Option<&HashMap<String, String>>) -> Result<Template, TemplateError> {
        let mut resolver = parse::Resolver::new(sources);
        let mut usage = parse::Usage::default();
        let nodes = parse::parse(source, &mut resolver, &mut usage)?;
        let mut partials = Vec::new();
        while let Some((name, src)) = resolver.pending(partials.len()) {
            let compiled = parse::parse(src, &mut resolver, &mut usage)
                .map_err(|e| TemplateError { message: format!("in partial `{name}`: {}", e.message), ..e })?;
            partials.push(compiled);
        }
        let size_hint = parse::size_hint(&nodes);
        Ok(Template {
            inner: Arc::new(Compiled { nodes, partials, names: usage.names, uses_root: usage.root, size_hint }),
        })
    }

    /// Render with the default limits: output cap [`MAX_OUTPUT_BYTES`], work budget
    /// [`MAX_STEPS`].
    pub fn render(&self, context: &Value, escape: Escape) -> Result<String, RenderError> {
        self.render_with_limits(context, escape, RenderLimits::DEFAULT)
    }

    /// Like render, with an explicit output cap (render uses MAX_OUTPUT_BYTES); the work budget
    /// is still [`MAX_STEPS`].
    pub fn render_limited(&self, context: &Value, escape: Escape, max_bytes: usize) -> Result<String, RenderError> {
        self.render_with_limits(context, escape, RenderLimits { max_bytes, ..RenderLimits::DEFAULT })
    }

    /// Like render, with explicit limits on output size and work (see [`RenderLimits`]).
    pub fn render_with_limits(
        &self,
        context: &Value,
        escape: Escape,
        limits: RenderLimits,
    ) -> Result<String, RenderError> {
        self.run(Some(context), &[], escape, limits)
    }

    /// Renders with named root values instead of a root object: `{{event.type}}` finds `event`
    /// among `bindings`. Nothing is cloned into a context, which is what makes delivery rendering
    /// cheap. The root itself (`{{.}}` outside any section) is null. Default limits
    /// ([`RenderLimits::DEFAULT`]).
    pub fn render_with(&self, bindings: &[(&str, &Value)], escape: Escape) -> Result<String, RenderError> {
        self.run(None, bindings, escape, RenderLimits::DEFAULT)
    }

    fn run(
        &self,
        context: Option<&Value>,
        bindings: &[(&str, &Value)],
        escape: Escape,
        limits: RenderLimits,
    ) -> Result<String, RenderError> {
        let inner = &*self.inner;
        let mut renderer = render::Renderer::new(
            context,
            bindings,
            escape,
            limits,
            inner.size_hint.min(limits.max_bytes),
            &inner.partials,
        );
        renderer.nodes(&inner.nodes)?;
        Ok(renderer.finish())
    }

    /// True when the template references this top-level name anywhere (e.g. "eventJson", "eventMarkdown"),
    /// so callers can skip building expensive context values nobody uses.
    ///
    /// Conservative: any name whose first part matches counts (even inside a section, where it
    /// may resolve elsewhere), and a template that dumps the whole root (`{{.}}` or
    /// `{{json .}}` outside sections) uses every name.
    pub fn uses(&self, top_level_name: &str) -> bool {
        self.inner.uses_root || self.inner.names.contains(top_level_name)
    }

    /// True when the template refers to the root itself (`{{.}}`, `{{json .}}` outside any
    /// section), which [`Template::render_with`]'s named bindings cannot stand for.
    pub fn uses_root(&self) -> bool {
        self.inner.uses_root
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types() {
        assert_eq!(Escape::for_content_type("Application/JSON; charset=utf-8"), Escape::Json);
        assert_eq!(Escape::for_content_type("application/vnd.api+json"), Escape::Json);
        assert_eq!(Escape::for_content_type("image/svg+XML"), Escape::Html);
        assert_eq!(Escape::for_content_type("application/x-www-form-urlencoded"), Escape::Form);
        assert_eq!(Escape::for_content_type("text/plain"), Escape::None);
        assert_eq!(Escape::for_content_type(""), Escape::None);
        assert_eq!(Escape::for_content_type("json"), Escape::None);
    }

    #[test]
    fn errors_display() {
        let e = TemplateError { line: 3, column: 5, message: "x".into() };
        assert_eq!(e.to_string(), "line 3, column 5: x");
        assert_eq!(
            RenderError::TooLarge { limit: MAX_OUTPUT_BYTES }.to_string(),
            "the rendered body would exceed 1 MiB"
        );
        assert_eq!(RenderError::TooLarge { limit: 100 }.to_string(), "the rendered body would exceed 100 bytes");
        assert_eq!(
            RenderError::TooMuchWork { limit: MAX_STEPS }.to_string(),
            "template does too much work: more than 1000000 steps (nested sections over large lists?)"
        );
        assert_eq!(RenderLimits::default(), RenderLimits { max_bytes: MAX_OUTPUT_BYTES, max_steps: MAX_STEPS });
    }

    #[test]
    fn template_is_shareable() {
        fn assert_traits<T: Send + Sync + Clone + fmt::Debug>() {}
        assert_traits::<Template>();
        let t = Template::compile("{{a}}").expect("compiles");
        let u = t.clone();
        assert_eq!(u.render(&json!({"a": 1}), Escape::None).expect("renders"), "1");
    }

    #[test]
    fn partial_error_names_partial() {
        let mut partials = HashMap::new();
        partials.insert("p".to_string(), "x\n {{#a}}".to_string());
        let e = Template::compile_with_partials("{{>p}}", &partials).expect_err("fails");
        assert_eq!((e.line, e.column), (2, 2));
        assert_eq!(e.message, "in partial `p`: unclosed section `a` opened at 2:2");
    }
}
