//! Runs every test of the six core Mustache spec modules (copied into tests/mustache-spec/) through
//! the template engine with HTML escaping and the tests' partials.

use std::collections::HashMap;
use std::path::PathBuf;

use hookline_core::template::{Escape, Template};
use serde_json::Value;

const MODULES: [&str; 6] = ["comments", "delimiters", "interpolation", "inverted", "partials", "sections"];

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("mustache-spec")
}

#[test]
fn mustache_spec() {
    let mut total = 0;
    let mut failures = Vec::new();
    for module in MODULES {
        let path = spec_dir().join(format!("{module}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let spec: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        let tests = spec["tests"].as_array().unwrap_or_else(|| panic!("{} has no `tests` array", path.display()));
        assert!(!tests.is_empty(), "{module}: no tests");
        for test in tests {
            total += 1;
            let name = format!("{module}: {}", test["name"].as_str().unwrap_or("?"));
            let template = test["template"].as_str().expect("template is a string");
            let expected = test["expected"].as_str().expect("expected is a string");
            let partials: HashMap<String, String> = test
                .get("partials")
                .and_then(Value::as_object)
                .map(|map| map.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                .unwrap_or_default();
            let got = Template::compile_with_partials(template, &partials)
                .map_err(|e| format!("compile error: {e}"))
                .and_then(|t| t.render(&test["data"], Escape::Html).map_err(|e| format!("render error: {e}")));
            match got {
                Ok(got) if got == expected => {}
                got => failures.push(format!(
                    "FAIL {name}\n  template: {template:?}\n  expected: {expected:?}\n  got:      {got:?}"
                )),
            }
        }
    }
    println!("mustache spec: {}/{total} passed", total - failures.len());
    for failure in &failures {
        println!("{failure}");
    }
    assert_eq!(total, 136, "expected the 136 tests of the six core modules");
    assert!(failures.is_empty(), "{} spec tests failed", failures.len());
}
