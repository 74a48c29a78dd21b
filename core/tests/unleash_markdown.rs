//! `eventMarkdown` against Unleash itself: `fixtures/unleash-markdown.json` holds, for each case of
//! `fixtures/unleash-markdown-cases.json`, the text Unleash 7.5.1's webhook addon produced for it
//! (`make unleash-fixture` regenerates both; see tools/unleash-md). This test only reads the
//! committed fixture, so it needs no Node.

use std::collections::BTreeSet;

use hookline_core::catalog::EVENT_TYPES;
use hookline_core::event::{Event, EventView};
use hookline_core::markdown::{event_markdown, markdown_of};
use serde::Deserialize;
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/unleash-markdown.json");
const CASES: &str = include_str!("fixtures/unleash-markdown-cases.json");
const URL: &str = "https://unleash.example.com";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    unleash_url: String,
    event: Value,
    /// `None` where Unleash's formatter throws (and Unleash sends no webhook).
    markdown: Option<String>,
    error: Option<String>,
}

fn fixture() -> Vec<Case> {
    serde_json::from_str(FIXTURE).expect("the fixture is an array of cases")
}

/// The events as the cases file has them. The fixture's copies went through JavaScript, which
/// reads every number as a double (big integers round, `-0.0` becomes `0`); Hookline gets the
/// original and must still say what Unleash said.
fn original_events() -> Vec<Value> {
    let cases: Vec<Value> = serde_json::from_str(CASES).expect("the cases are an array");
    cases.into_iter().map(|mut case| case["event"].take()).collect()
}

fn event_of(name: &str, value: &Value) -> Event {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{name}: not an event: {e}"))
}

#[test]
fn every_case_matches_unleash_word_for_word() {
    let cases = fixture();
    let originals = original_events();
    assert_eq!(cases.len(), originals.len(), "run `make unleash-fixture`");
    let mut failures = Vec::new();
    let mut compared = 0;
    for (case, original) in cases.iter().zip(&originals) {
        let Some(expected) = &case.markdown else { continue };
        compared += 1;
        let base = Some(case.unleash_url.as_str());
        let outputs = [
            ("", event_markdown(&event_of(&case.name, original), base)),
            // The dispatcher's path, straight from the event's JSON.
            (" (from JSON)", markdown_of(EventView::of_json(original), base)),
            // The event exactly as Unleash saw it.
            (" (as parsed by Unleash)", event_markdown(&event_of(&case.name, &case.event), base)),
        ];
        for (how, ours) in outputs {
            if &ours != expected {
                failures.push(format!("case {:?}{how}\n  unleash:  {expected:?}\n  hookline: {ours:?}", case.name));
            }
        }
    }
    assert!(compared > 0);
    assert!(failures.is_empty(), "{} differences from Unleash:\n{}", failures.len(), failures.join("\n"));
}

/// Where Unleash throws, Hookline still writes the sentence, without the strategy-change details.
#[test]
fn where_unleash_throws_the_sentence_stays() {
    let thrown: Vec<Case> = fixture().into_iter().filter(|c| c.markdown.is_none()).collect();
    assert!(!thrown.is_empty(), "the fixture keeps the cases where Unleash throws");
    for case in &thrown {
        let error = case.error.as_deref().unwrap_or_else(|| panic!("{}: neither markdown nor error", case.name));
        assert!(error.starts_with("TypeError"), "{}: {error}", case.name);
        let ours = event_markdown(&event_of(&case.name, &case.event), Some(&case.unleash_url));
        assert!(ours.contains(" by updating strategy *"), "{}: {ours}", case.name);
        assert!(ours.ends_with(" in *production*"), "{}: {ours}", case.name);
    }
}

#[test]
fn fixture_covers_every_catalog_type_with_and_without_trailing_slash() {
    let cases = fixture();
    // Hookline's own operational events are not Unleash's: it has no sentence for them to record.
    for t in EVENT_TYPES.iter().filter(|t| !t.from_hookline()) {
        for url in [URL.to_owned(), format!("{URL}/")] {
            let covered = cases.iter().any(|c| {
                c.unleash_url == url
                    && c.event["type"] == t.name
                    && c.markdown.as_deref().is_some_and(|m| !m.is_empty())
            });
            assert!(covered, "{} with unleashUrl {url} has no case: run `make unleash-fixture`", t.name);
        }
    }
}

/// The fixture is the output for exactly the committed cases: regenerate both together.
#[test]
fn fixture_matches_the_committed_cases() {
    let cases: Vec<Value> = serde_json::from_str(CASES).expect("the cases are an array");
    let fixture = fixture();
    assert_eq!(fixture.len(), cases.len(), "run `make unleash-fixture`");
    let mut names = BTreeSet::new();
    for (case, entry) in cases.iter().zip(&fixture) {
        assert_eq!(case["name"], entry.name.as_str(), "run `make unleash-fixture`");
        assert_eq!(case["unleashUrl"], entry.unleash_url.as_str(), "{}", entry.name);
        assert!(same_json(&case["event"], &entry.event), "{}: run `make unleash-fixture`", entry.name);
        assert!(names.insert(entry.name.as_str()), "{}: duplicate case name", entry.name);
    }
}

/// JSON equality with numbers compared as JavaScript holds them (doubles).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kx, x), (ky, y))| kx == ky && same_json(x, y))
        }
        _ => a == b,
    }
}
