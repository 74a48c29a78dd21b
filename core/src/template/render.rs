//! Walks the compiled node tree against a `serde_json::Value` context (by reference, never
//! cloning): the context stack, name lookup, sections, partial indentation, the depth bound and
//! the work budget.

use std::fmt::Write as _;

use serde_json::Value;

use super::escape::{self, Out};
use super::parse::{Name, Node, VarKind};
use super::{Escape, RenderError, RenderLimits, MAX_DEPTH};

static NULL: Value = Value::Null;

pub(super) struct Renderer<'t, 'v> {
    out: Out,
    escape: Escape,
    stack: Vec<&'v Value>,
    /// Named values at the root, below the stack (`event`, `eventJson`, ...): they are looked up
    /// by name without building (and cloning into) a root object.
    bindings: &'v [(&'v str, &'v Value)],
    partials: &'t [Vec<Node>],
    /// Indentation of the standalone partials being rendered (empty outside them).
    indent: String,
    /// At the start of a line of template text inside an indented partial.
    pending: bool,
    depth: usize,
    /// Steps left of the work budget: one per node visited and one per section iteration. The
    /// output cap cannot stand in for it: nested sections over lists multiply their work, and
    /// with empty bodies they write nothing at all.
    steps_left: u64,
    /// The budget `steps_left` started from, for the error.
    max_steps: u64,
    scratch: String,
}

impl<'t, 'v> Renderer<'t, 'v> {
    pub(super) fn new(
        context: Option<&'v Value>,
        bindings: &'v [(&'v str, &'v Value)],
        escape: Escape,
        limits: RenderLimits,
        capacity: usize,
        partials: &'t [Vec<Node>],
    ) -> Self {
        let mut stack = Vec::with_capacity(8);
        stack.extend(context);
        Renderer {
            out: Out::new(limits.max_bytes, capacity),
            escape,
            stack,
            bindings,
            partials,
            indent: String::new(),
            pending: false,
            depth: 0,
            steps_left: limits.max_steps,
            max_steps: limits.max_steps,
            scratch: String::new(),
        }
    }

    pub(super) fn finish(self) -> String {
        self.out.buf
    }

    pub(super) fn nodes(&mut self, nodes: &'t [Node]) -> Result<(), RenderError> {
        for node in nodes {
            self.step()?;
            match node {
                Node::Text(text) => self.text(text)?,
                Node::Var { name, kind } => {
                    self.flush_indent()?;
                    let value = self.lookup(name);
                    self.var(value, *kind)?;
                }
                Node::Section { name, inverted, children } => {
                    let value = self.lookup(name);
                    if *inverted {
                        if !truthy(value) {
                            self.enter()?;
                            self.nodes(children)?;
                            self.depth -= 1;
                        }
                    } else {
                        match value {
                            None | Some(Value::Null) | Some(Value::Bool(false)) => {}
                            Some(Value::Array(items)) => {
                                if !items.is_empty() {
                                    self.enter()?;
                                    for item in items {
                                        // Counted even when the body is empty: the loop itself
                                        // is the work that multiplies.
                                        self.step()?;
                                        self.stack.push(item);
                                        self.nodes(children)?;
                                        self.stack.pop();
                                    }
                                    self.depth -= 1;
                                }
                            }
                            Some(v) => {
                                self.enter()?;
                                self.stack.push(v);
                                self.nodes(children)?;
                                self.stack.pop();
                                self.depth -= 1;
                            }
                        }
                    }
                }
                Node::Partial { index, indent, .. } => {
                    let Some(body) = index.and_then(|i| self.partials.get(i)) else {
                        continue;
                    };
                    self.enter()?;
                    match indent {
                        Some(own) => {
                            // Standalone: every line of the partial's text gets the indentation.
                            let outer = self.indent.len();
                            self.indent.push_str(own);
                            self.pending = true;
                            self.nodes(body)?;
                            self.indent.truncate(outer);
                        }
                        None => {
                            // Inline: the partial continues the current line, unindented.
                            self.flush_indent()?;
                            let outer = std::mem::take(&mut self.indent);
                            self.nodes(body)?;
                            self.indent = outer;
                            self.pending = false;
                        }
                    }
                    self.depth -= 1;
                }
            }
        }
        Ok(())
    }

    /// Spends one step of the work budget, failing once it is used up: a budget of `n` allows
    /// exactly `n` steps.
    #[inline]
    fn step(&mut self) -> Result<(), RenderError> {
        if self.steps_left == 0 {
            return Err(RenderError::TooMuchWork { limit: self.max_steps });
        }
        self.steps_left -= 1;
        Ok(())
    }

    fn enter(&mut self) -> Result<(), RenderError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RenderError::TooDeep { limit: MAX_DEPTH });
        }
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), RenderError> {
        if self.indent.is_empty() {
            return self.out.push(text);
        }
        for line in text.split_inclusive('\n') {
            if self.pending {
                self.out.push(&self.indent)?;
                self.pending = false;
            }
            self.out.push(line)?;
            if line.ends_with('\n') {
                self.pending = true;
            }
        }
        Ok(())
    }

    fn flush_indent(&mut self) -> Result<(), RenderError> {
        if self.pending && !self.indent.is_empty() {
            self.out.push(&self.indent)?;
            self.pending = false;
        }
        Ok(())
    }

    /// Spec name resolution: `.` is the top of the stack; otherwise the first part is looked up
    /// from the top of the stack down, the rest only inside the value found.
    fn lookup(&self, name: &Name) -> Option<&'v Value> {
        let Some((first, rest)) = name.0.split_first() else {
            return self.stack.last().copied();
        };
        let mut value = self
            .stack
            .iter()
            .rev()
            .find_map(|ctx| ctx.as_object().and_then(|map| map.get(&*first.key)))
            .or_else(|| self.bindings.iter().find(|(key, _)| *key == &*first.key).map(|(_, value)| *value))?;
        for part in rest.iter() {
            value = match value {
                Value::Object(map) => map.get(&*part.key)?,
                Value::Array(items) => items.get(part.index?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    fn var(&mut self, value: Option<&'v Value>, kind: VarKind) -> Result<(), RenderError> {
        match kind {
            VarKind::Escaped => self.value(value, self.escape),
            VarKind::Raw => self.value(value, Escape::None),
            VarKind::Json => {
                let esc = match self.escape {
                    Escape::Json | Escape::None => Escape::None,
                    other => other,
                };
                escape::write_json(&mut self.out, value.unwrap_or(&NULL), esc, &mut self.scratch)
            }
            VarKind::JsonRaw => {
                escape::write_json(&mut self.out, value.unwrap_or(&NULL), Escape::None, &mut self.scratch)
            }
        }
    }

    fn value(&mut self, value: Option<&'v Value>, esc: Escape) -> Result<(), RenderError> {
        match value {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(s)) => escape::write(&mut self.out, s, esc),
            Some(Value::Bool(b)) => escape::write(&mut self.out, if *b { "true" } else { "false" }, esc),
            Some(Value::Number(n)) => {
                self.scratch.clear();
                let _ = write!(self.scratch, "{n}");
                escape::write(&mut self.out, &self.scratch, esc)
            }
            Some(v) => escape::write_json(&mut self.out, v, esc, &mut self.scratch),
        }
    }
}

/// Falsey: missing, `null`, `false`, `[]`. Everything else is truthy.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Template;
    use super::*;
    use serde_json::json;

    fn render(src: &str, ctx: Value) -> String {
        Template::compile(src).expect("compiles").render(&ctx, Escape::None).expect("renders")
    }

    #[test]
    fn lookup_rules() {
        let ctx = json!({"a": {"b": [10, {"c": "x"}]}, "d": 1});
        assert_eq!(render("{{a.b.0}}|{{a.b.1.c}}|{{a.b.2}}|{{a.b.x}}", ctx.clone()), "10|x||");
        assert_eq!(render("{{#a}}{{d}}{{/a}}", ctx.clone()), "1");
        assert_eq!(render("{{#a.b}}[{{.}}]{{/a.b}}", ctx), "[10][{\"c\":\"x\"}]");
    }

    #[test]
    fn truthiness() {
        let ctx = json!({"e": "", "z": 0, "n": null, "l": [], "o": {}});
        assert_eq!(
            render("{{#e}}e{{/e}}{{#z}}z{{/z}}{{#n}}n{{/n}}{{#l}}l{{/l}}{{#o}}o{{/o}}{{#m}}m{{/m}}", ctx.clone()),
            "ezo"
        );
        assert_eq!(
            render("{{^e}}e{{/e}}{{^z}}z{{/z}}{{^n}}n{{/n}}{{^l}}l{{/l}}{{^o}}o{{/o}}{{^m}}m{{/m}}", ctx),
            "nlm"
        );
    }

    #[test]
    fn nested_partial_indentation() {
        let mut partials = std::collections::HashMap::new();
        partials.insert("outer".to_string(), "a\n  {{>inner}}\nb\n".to_string());
        partials.insert("inner".to_string(), "x\ny\n".to_string());
        let t = Template::compile_with_partials("  {{>outer}}\n", &partials).expect("compiles");
        assert_eq!(t.render(&json!({}), Escape::None).expect("renders"), "  a\n    x\n    y\n  b\n");
    }
}
