//! The template engine beyond the Mustache spec: escaping modes, content-type mapping, the
//! `{{json path}}` extension, output, depth and work limits, error positions and `uses()`.

use std::collections::HashMap;

use hookline_core::template::{
    Escape, RenderError, RenderLimits, Template, TemplateError, MAX_DEPTH, MAX_OUTPUT_BYTES, MAX_STEPS,
};
use serde_json::{json, Value};

fn compile(src: &str) -> Template {
    Template::compile(src).unwrap_or_else(|e| panic!("{src:?} should compile: {e}"))
}

fn render(src: &str, ctx: &Value, escape: Escape) -> String {
    compile(src).render(ctx, escape).unwrap_or_else(|e| panic!("{src:?} should render: {e}"))
}

fn compile_err(src: &str) -> TemplateError {
    match Template::compile(src) {
        Ok(t) => panic!("{src:?} should not compile, got {t:?}"),
        Err(e) => e,
    }
}

fn event() -> Value {
    json!({
        "event": {
            "id": 7,
            "type": "feature-created",
            "createdBy": "admin@example.com",
            "data": {"name": "new-checkout", "enabled": true, "weight": 1.5},
            "tags": [{"type": "simple", "value": "team-a"}, {"type": "simple", "value": "team-b"}],
            "project": null
        },
        "eventMarkdown": "**admin** created *new-checkout*"
    })
}

const NASTY: &str = "he said \"hi\" \\ </script>\nnext line\ttab \u{1} & \u{2028} é";

// ---- escaping ---------------------------------------------------------------------------------

#[test]
fn json_mode_yields_valid_json_that_round_trips() {
    let ctx = json!({"msg": NASTY, "n": 3, "f": 1.25, "b": false, "nil": null});
    let body = render(
        r#"{"text": "{{msg}}", "n": {{n}}, "f": {{f}}, "b": {{b}}, "nil": "{{nil}}{{missing}}"}"#,
        &ctx,
        Escape::Json,
    );
    let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
    assert_eq!(parsed["text"], NASTY);
    assert_eq!(parsed["n"], 3);
    assert_eq!(parsed["f"], 1.25);
    assert_eq!(parsed["b"], false);
    assert_eq!(parsed["nil"], "");
    // Safe to drop into HTML/JS: no raw `<`, `>`, `&`, U+2028; never HTML entities.
    for bad in ['<', '>', '&', '\u{2028}', '\n'] {
        assert!(!body.contains(bad), "{body:?} contains {bad:?}");
    }
    assert!(body.contains(r"\u003c/script\u003e"), "{body}");
    assert!(!body.contains("&quot;") && !body.contains("&lt;"), "{body}");
}

#[test]
fn json_mode_object_interpolated_as_string_content() {
    let ctx = json!({"o": {"a": "x\"y"}, "l": [1, "<"]});
    let body = render(r#"{"o": "{{o}}", "l": "{{l}}"}"#, &ctx, Escape::Json);
    let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
    assert_eq!(parsed["o"], r#"{"a":"x\"y"}"#);
    assert_eq!(parsed["l"], r#"[1,"<"]"#);
}

#[test]
fn html_mode() {
    let ctx = json!({"x": "<a href=\"q\">Tom & Jerry's</a>", "n": 2});
    assert_eq!(
        render("<p>{{x}} {{n}}</p>", &ctx, Escape::Html),
        "<p>&lt;a href=&quot;q&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt; 2</p>"
    );
}

#[test]
fn form_mode() {
    let ctx = json!({"t": "feature created & on", "u": "ä/€?=", "safe": "A-z_0.9~", "n": -1.5});
    assert_eq!(
        render("type={{t}}&u={{u}}&s={{safe}}&n={{n}}", &ctx, Escape::Form),
        "type=feature+created+%26+on&u=%C3%A4%2F%E2%82%AC%3F%3D&s=A-z_0.9~&n=-1.5"
    );
}

#[test]
fn none_mode_is_raw() {
    let ctx = json!({"msg": NASTY});
    assert_eq!(render("{{msg}}", &ctx, Escape::None), NASTY);
}

#[test]
fn triple_and_ampersand_are_raw_in_every_mode() {
    let ctx = json!({"msg": NASTY});
    for mode in [Escape::Json, Escape::Html, Escape::Form, Escape::None] {
        assert_eq!(render("{{{msg}}}|{{& msg}}", &ctx, mode), format!("{NASTY}|{NASTY}"));
    }
}

#[test]
fn non_string_values() {
    let ctx = json!({"i": 42, "neg": -7, "f": 0.5, "big": 12345678901234567890u64, "t": true,
                     "nil": null, "o": {"k": [1, null]}, "l": []});
    assert_eq!(
        render("{{i}} {{neg}} {{f}} {{big}} {{t}} [{{nil}}] [{{nope}}] {{o}} {{l}}", &ctx, Escape::None),
        r#"42 -7 0.5 12345678901234567890 true [] [] {"k":[1,null]} []"#
    );
}

// ---- content types ----------------------------------------------------------------------------

#[test]
fn for_content_type_mapping() {
    let cases = [
        ("application/json", Escape::Json),
        ("application/json; charset=utf-8", Escape::Json),
        ("APPLICATION/JSON", Escape::Json),
        ("text/json", Escape::Json),
        ("application/vnd.api+json", Escape::Json),
        ("application/cloudevents+json; charset=UTF-8", Escape::Json),
        ("  application/json  ", Escape::Json),
        ("text/html", Escape::Html),
        ("text/HTML;charset=utf-8", Escape::Html),
        ("application/xhtml+xml", Escape::Html),
        ("text/xml", Escape::Html),
        ("application/xml", Escape::Html),
        ("application/atom+xml", Escape::Html),
        ("application/x-www-form-urlencoded", Escape::Form),
        ("application/x-www-form-urlencoded; charset=utf-8", Escape::Form),
        ("text/plain", Escape::None),
        ("text/plain; charset=utf-8", Escape::None),
        ("multipart/form-data", Escape::None),
        ("application/octet-stream", Escape::None),
        ("application/jsonl", Escape::None),
        ("", Escape::None),
    ];
    for (ct, want) in cases {
        assert_eq!(Escape::for_content_type(ct), want, "{ct:?}");
    }
}

// ---- {{json path}} ----------------------------------------------------------------------------

#[test]
fn json_tag_embeds_values_in_json_mode() {
    let ctx = event();
    let body = render(
        r#"{"payload": {{json event}}, "data": {{json event.data}}, "tags": {{json event.tags}}, "missing": {{json event.nope}}, "type": {{json event.type}}, "n": {{json event.id}}}"#,
        &ctx,
        Escape::Json,
    );
    let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
    assert_eq!(parsed["payload"], ctx["event"]);
    assert_eq!(parsed["data"], ctx["event"]["data"]);
    assert_eq!(parsed["tags"], ctx["event"]["tags"]);
    assert_eq!(parsed["missing"], Value::Null);
    assert_eq!(parsed["type"], "feature-created");
    assert_eq!(parsed["n"], 7);
    // Byte for byte serde_json's compact text, keys in insertion order.
    let compact = serde_json::to_string(&ctx["event"]).expect("serialises");
    assert!(body.contains(&compact), "{body}");
}

#[test]
fn json_tag_with_nasty_strings_stays_valid_json() {
    let ctx = json!({"o": {"msg": NASTY}});
    let body = render(r#"{"o": {{json o}}}"#, &ctx, Escape::Json);
    let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
    assert_eq!(parsed["o"]["msg"], NASTY);
}

#[test]
fn json_tag_in_each_mode() {
    let ctx = json!({"o": {"a": "<b> & c"}});
    let compact = r#"{"a":"<b> & c"}"#;
    assert_eq!(render("{{json o}}", &ctx, Escape::Json), compact);
    assert_eq!(render("{{json o}}", &ctx, Escape::None), compact);
    assert_eq!(render("{{json o}}", &ctx, Escape::Html), "{&quot;a&quot;:&quot;&lt;b&gt; &amp; c&quot;}");
    assert_eq!(render("{{json o}}", &ctx, Escape::Form), "%7B%22a%22%3A%22%3Cb%3E+%26+c%22%7D");
    for mode in [Escape::Json, Escape::Html, Escape::Form, Escape::None] {
        assert_eq!(render("{{{json o}}}", &ctx, mode), compact, "{mode:?}");
        assert_eq!(render("{{& json o}}", &ctx, mode), compact, "{mode:?}");
        assert_eq!(render("{{json missing}}", &ctx, mode), "null", "{mode:?}");
        assert_eq!(render("{{json o.a.b}}", &ctx, mode), "null", "{mode:?}");
    }
}

#[test]
fn json_tag_forms() {
    let ctx = json!({"json": "plain variable", "x": [1, 2]});
    // `{{json}}` alone is the variable named json (the spec's padding rules).
    assert_eq!(render("{{json}}|{{ json }}", &ctx, Escape::None), "plain variable|plain variable");
    assert_eq!(render("{{json .}}", &json!([1, "a"]), Escape::Json), r#"[1,"a"]"#);
    assert_eq!(render("{{#x}}{{json .}};{{/x}}", &ctx, Escape::Json), "1;2;");
    assert_eq!(render("{{ json   x }}", &ctx, Escape::Json), "[1,2]");
    let e = compile_err("{\n  \"a\": {{json a b}}\n}");
    assert_eq!((e.line, e.column), (2, 8));
    assert!(e.message.starts_with("invalid `json` tag"), "{}", e.message);
}

// ---- limits -----------------------------------------------------------------------------------

#[test]
fn section_over_big_list_is_too_large() {
    let items: Vec<Value> = (0..20_000).map(|i| json!({"id": i, "name": "x".repeat(60)})).collect();
    let ctx = json!({"items": items});
    let t = compile("[{{#items}}{\"id\": {{id}}, \"name\": \"{{name}}\"},{{/items}}]");
    assert_eq!(t.render(&ctx, Escape::Json), Err(RenderError::TooLarge { limit: MAX_OUTPUT_BYTES }));
    assert_eq!(RenderError::TooLarge { limit: MAX_OUTPUT_BYTES }.to_string(), "the rendered body would exceed 1 MiB");
    // A bigger cap fits it.
    let body = t.render_limited(&ctx, Escape::Json, 8 * MAX_OUTPUT_BYTES).expect("fits in 8 MiB");
    assert!(body.len() > MAX_OUTPUT_BYTES);
}

#[test]
fn render_limited_small_cap() {
    let t = compile("Hello, {{name}}!");
    let ctx = json!({"name": "world"});
    assert_eq!(t.render_limited(&ctx, Escape::None, 13).as_deref(), Ok("Hello, world!"));
    assert_eq!(t.render_limited(&ctx, Escape::None, 12), Err(RenderError::TooLarge { limit: 12 }));
    assert_eq!(t.render_limited(&ctx, Escape::None, 0), Err(RenderError::TooLarge { limit: 0 }));
    // Escaping counts: `&amp;` is five bytes.
    let amp = compile("{{x}}");
    assert_eq!(amp.render_limited(&json!({"x": "&&"}), Escape::Html, 9), Err(RenderError::TooLarge { limit: 9 }));
    assert_eq!(amp.render_limited(&json!({"x": "&&"}), Escape::Html, 10).as_deref(), Ok("&amp;&amp;"));
    // A huge value stops the render too, via {{json}} as well.
    let big = json!({"x": "y".repeat(2 * MAX_OUTPUT_BYTES)});
    assert!(matches!(amp.render(&big, Escape::Json), Err(RenderError::TooLarge { .. })));
    assert!(matches!(compile("{{json .}}").render(&big, Escape::Json), Err(RenderError::TooLarge { .. })));
}

#[test]
fn recursive_partial_is_too_deep() {
    let mut partials = HashMap::new();
    partials.insert("loop".to_string(), "x{{>loop}}".to_string());
    let t = Template::compile_with_partials("{{>loop}}", &partials).expect("compiles");
    let err = t.render(&json!({}), Escape::None).expect_err("recursion is bounded");
    assert_eq!(err, RenderError::TooDeep { limit: MAX_DEPTH });
    assert!(err.to_string().contains("64 levels"), "{err}");

    // Recursion through a section that nests the context deeper each time.
    partials.insert("node".to_string(), "{{#child}}<{{>node}}>{{/child}}".to_string());
    let t = Template::compile_with_partials("{{>node}}", &partials).expect("compiles");
    let mut deep = json!({});
    for _ in 0..100 {
        deep = json!({"child": deep});
    }
    assert_eq!(t.render(&deep, Escape::None), Err(RenderError::TooDeep { limit: MAX_DEPTH }));
    // (The innermost level needs `child: false`: a missing name is looked up the context stack.)
    let mut shallow = json!({"child": false});
    for _ in 0..10 {
        shallow = json!({"child": shallow});
    }
    assert_eq!(
        t.render(&shallow, Escape::None).as_deref(),
        Ok(format!("{}{}", "<".repeat(10), ">".repeat(10)).as_str())
    );
}

#[test]
fn compile_time_nesting_limit() {
    let ok = "{{#a}}".repeat(MAX_DEPTH) + &"{{/a}}".repeat(MAX_DEPTH);
    let t = compile(&ok);
    assert_eq!(t.render(&json!({"a": true}), Escape::None).as_deref(), Ok(""));
    let deep = "{{#a}}".repeat(MAX_DEPTH + 1) + &"{{/a}}".repeat(MAX_DEPTH + 1);
    let e = compile_err(&deep);
    assert_eq!((e.line, e.column), (1, 6 * MAX_DEPTH + 1));
    assert!(e.message.contains("nested more than 64"), "{}", e.message);
}

/// `depth` sections over `a`, nested, with nothing inside: `{{#a}}{{#a}}…{{/a}}{{/a}}`.
fn nested_empty_sections(depth: usize) -> Template {
    compile(&("{{#a}}".repeat(depth) + &"{{/a}}".repeat(depth)))
}

fn limits(max_steps: u64) -> RenderLimits {
    RenderLimits { max_steps, ..RenderLimits::default() }
}

#[test]
fn nested_empty_sections_run_out_of_work_budget() {
    // 8 levels over 10 items: ~10^8 iterations, and not one byte of output for the output cap
    // to catch. The budget stops it after MAX_STEPS steps.
    let ctx = json!({"a": (1..=10).collect::<Vec<_>>()});
    let t = nested_empty_sections(8);
    let too_much = Err(RenderError::TooMuchWork { limit: MAX_STEPS });
    assert_eq!(t.render(&ctx, Escape::Json), too_much);
    // Every entry point has the budget: a bigger output cap does not lift it, and neither does
    // rendering with bindings (the dispatcher's path).
    assert_eq!(t.render_limited(&ctx, Escape::Json, usize::MAX), too_much);
    let list = ctx["a"].clone();
    assert_eq!(t.render_with(&[("a", &list)], Escape::Json), too_much);
    // Through partials too: a partial holding the inner levels.
    let mut partials = HashMap::new();
    partials.insert("inner".to_string(), "{{#a}}".repeat(4) + &"{{/a}}".repeat(4));
    let via_partial =
        Template::compile_with_partials(&("{{#a}}".repeat(4) + "{{>inner}}" + &"{{/a}}".repeat(4)), &partials)
            .expect("compiles");
    assert_eq!(via_partial.render(&ctx, Escape::None), too_much);
    // Shallower nesting of the same shape is fine: 4 levels are 22,221 steps.
    assert_eq!(nested_empty_sections(4).render(&ctx, Escape::None).as_deref(), Ok(""));
}

#[test]
fn large_legit_render_fits_the_budget() {
    let items: Vec<Value> = (0..10_000).map(|i| json!({"id": i, "name": format!("flag-{i}")})).collect();
    let ctx = json!({"items": items});
    let t = compile(r#"[{{#items}}{"id": {{id}}, "name": "{{name}}"},{{/items}}null]"#);
    let body = t.render(&ctx, Escape::Json).expect("10,000 items render");
    let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}"));
    let parsed = parsed.as_array().expect("an array");
    assert_eq!(parsed.len(), 10_001);
    assert_eq!(parsed[9_999], json!({"id": 9_999, "name": "flag-9999"}));
    // A 100,000-item list with a tiny body (300,003 steps) fits too.
    let ctx = json!({"n": (0..100_000).collect::<Vec<_>>()});
    let body = render("[{{#n}}{{.}},{{/n}}]", &ctx, Escape::None);
    assert!(body.starts_with("[0,1,2,") && body.ends_with(",99999,]"), "{}", &body[body.len() - 20..]);
}

#[test]
fn custom_work_budget_trips_exactly() {
    let ok = |t: &Template, ctx: &Value, steps: u64| {
        t.render_with_limits(ctx, Escape::None, limits(steps))
            .unwrap_or_else(|e| panic!("{t:?} with {steps} steps: {e}"))
    };
    let over = |t: &Template, ctx: &Value, steps: u64| {
        assert_eq!(
            t.render_with_limits(ctx, Escape::None, limits(steps)),
            Err(RenderError::TooMuchWork { limit: steps }),
            "{t:?} with {steps} steps"
        );
    };
    let ctx = json!({"x": "X", "l": [1, 2, 3], "n": null, "o": {"k": "v"}});
    // One step per node: text, variable, text.
    let t = compile("a{{x}}b");
    assert_eq!(ok(&t, &ctx, 3), "aXb");
    over(&t, &ctx, 2);
    over(&t, &ctx, 0);
    // A section: 1 for the tag, then per item 1 for the iteration plus its body's nodes.
    let t = compile("{{#l}}{{.}}{{/l}}");
    assert_eq!(ok(&t, &ctx, 1 + 3 * 2), "123");
    over(&t, &ctx, 1 + 3 * 2 - 1);
    // An empty body still costs its iterations: this is what the output cap cannot see.
    let t = compile("{{#l}}{{/l}}");
    assert_eq!(ok(&t, &ctx, 1 + 3), "");
    over(&t, &ctx, 3);
    // Object and falsey sections, inverted sections and partials (found or missing).
    let mut partials = HashMap::new();
    partials.insert("p".to_string(), "<{{k}}>".to_string());
    let t = Template::compile_with_partials("{{#o}}{{>p}}{{/o}}{{#n}}no{{/n}}{{^n}}!{{/n}}{{>gone}}", &partials)
        .expect("compiles");
    // #o 1 + >p 1 + p's 3 nodes, #n 1, ^n 1 + its text 1, >gone 1.
    assert_eq!(ok(&t, &ctx, 9), "<v>!");
    over(&t, &ctx, 8);
    // The budget is per render, not per template.
    let t = compile("{{#l}}{{.}}{{/l}}");
    for _ in 0..3 {
        assert_eq!(ok(&t, &ctx, 7), "123");
    }
    // Nothing to do needs no budget.
    assert_eq!(ok(&compile(""), &ctx, 0), "");
    // The output cap still applies alongside, from the same limits.
    let both = RenderLimits { max_bytes: 2, max_steps: 100 };
    assert_eq!(
        compile("a{{x}}b").render_with_limits(&ctx, Escape::None, both),
        Err(RenderError::TooLarge { limit: 2 })
    );
}

#[test]
fn too_much_work_message() {
    let ctx = json!({"a": (1..=10).collect::<Vec<_>>()});
    let err = nested_empty_sections(8).render(&ctx, Escape::None).expect_err("over budget");
    let message = err.to_string();
    assert!(message.starts_with("template does too much work"), "{message}");
    assert_eq!(message, "template does too much work: more than 1000000 steps (nested sections over large lists?)");
    let small = nested_empty_sections(3).render_with_limits(&ctx, Escape::None, limits(50)).expect_err("over 50");
    assert_eq!(
        small.to_string(),
        "template does too much work: more than 50 steps (nested sections over large lists?)"
    );
}

// ---- compile errors ---------------------------------------------------------------------------

#[test]
fn unclosed_section_position_and_message() {
    let e = compile_err("{\n  \"a\": 1,\n    {{#event.data}}\n  \"b\": 2\n}");
    assert_eq!(e.line, 3);
    assert_eq!(e.column, 5);
    assert_eq!(e.message, "unclosed section `event.data` opened at 3:5");
    assert_eq!(e.to_string(), "line 3, column 5: unclosed section `event.data` opened at 3:5");
    let as_json = serde_json::to_value(&e).expect("serialises");
    assert_eq!(as_json, json!({"line": 3, "column": 5, "message": "unclosed section `event.data` opened at 3:5"}));
}

#[test]
fn other_error_positions() {
    let cases: [(&str, usize, usize, &str); 10] = [
        ("{{#a}}x{{/b}}", 1, 8, "section `a` opened at 1:1 closed by `b`"),
        ("ok\n {{/a}}", 2, 2, "closing tag `a` without an open section"),
        ("é {{name", 1, 3, "unclosed tag: expected `}}`"),
        ("{{name\n}} x", 1, 1, "unclosed tag: expected `}}`"),
        ("x\n{{{raw}}", 2, 1, "unclosed triple mustache: expected `}}}`"),
        ("{{=<% %>=}}\n  <%name", 2, 3, "unclosed tag: expected `%>`"),
        ("a{{}}", 1, 2, "empty tag name"),
        ("{{#}}{{/}}", 1, 1, "empty section name"),
        ("{{> }}", 1, 1, "empty partial name"),
        ("{{= x =}}", 1, 1, ""),
    ];
    for (src, line, column, message) in cases {
        let e = compile_err(src);
        assert_eq!((e.line, e.column), (line, column), "{src:?}: {e}");
        if message.is_empty() {
            assert!(e.message.starts_with("invalid set-delimiter tag"), "{src:?}: {e}");
        } else {
            assert_eq!(e.message, message, "{src:?}");
        }
    }
    assert!(std::error::Error::source(&compile_err("{{#a}}")).is_none());
}

// ---- uses() -----------------------------------------------------------------------------------

#[test]
fn uses_reports_top_level_names() {
    let t = compile(
        r#"{"t": "{{event.type}}", "md": "{{eventMarkdown}}", {{#flags}}{{/flags}}{{^x}}{{/x}} "j": {{json more.stuff}}}"#,
    );
    for name in ["event", "eventMarkdown", "flags", "x", "more"] {
        assert!(t.uses(name), "{name}");
    }
    for name in ["eventJson", "type", "stuff", "t", ""] {
        assert!(!t.uses(name), "{name}");
    }
    // The whole root dumped: everything is used.
    assert!(compile("{{json .}}").uses("eventJson"));
    assert!(compile("{{.}}").uses("eventJson"));
    assert!(compile("{{#.}}{{.}}{{/.}}").uses("eventJson"));
    // `.` inside a named section is that section's value, not the root.
    assert!(!compile("{{#event.tags}}{{.}}{{/event.tags}}").uses("eventJson"));
    // Names in partials count; a missing partial uses nothing.
    let mut partials = HashMap::new();
    partials.insert("md".to_string(), "{{eventMarkdown}}".to_string());
    let t = Template::compile_with_partials("{{>md}}{{>gone}}", &partials).expect("compiles");
    assert!(t.uses("eventMarkdown"));
    assert!(!t.uses("eventJson"));
    assert!(!compile("{{! eventJson }}").uses("eventJson"));
}

// ---- misc ---------------------------------------------------------------------------------------

#[test]
fn webhook_template_end_to_end() {
    let t = compile(concat!(
        "{\n",
        "  \"text\": \"{{event.createdBy}} did {{event.type}} on {{event.data.name}}\",\n",
        "  \"tags\": [\n",
        "    {{#event.tags}}\n",
        "    \"{{value}}\",\n",
        "    {{/event.tags}}\n",
        "    \"end\"\n",
        "  ],\n",
        "  \"first\": \"{{event.tags.0.value}}\",\n",
        "  \"md\": \"{{eventMarkdown}}\",\n",
        "  \"project\": \"{{event.project}}{{^event.project}}none{{/event.project}}\"\n",
        "}\n",
    ));
    let body = t.render(&event(), Escape::Json).expect("renders");
    let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
    assert_eq!(
        parsed,
        json!({
            "text": "admin@example.com did feature-created on new-checkout",
            "tags": ["team-a", "team-b", "end"],
            "first": "team-a",
            "md": "**admin** created *new-checkout*",
            "project": "none"
        })
    );
    // Deterministic.
    assert_eq!(t.render(&event(), Escape::Json).as_deref(), Ok(body.as_str()));
}

#[test]
fn missing_partials_render_empty() {
    let t = compile("a{{>nope}}b");
    assert_eq!(t.render(&json!({}), Escape::Html).as_deref(), Ok("ab"));
}
