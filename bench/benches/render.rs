//! Template rendering speed: a Slack-style JSON template with eventMarkdown, fields and a section,
//! rendered against a feature-strategy-update event (context building included, as in delivery).
//! Run: `cargo bench -p bench --bench render` or `scripts/bench.sh render` (the issue's goal: ≥ 200,000 renders/s).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use hookline_core::body::{render_body, render_event_json};
use hookline_core::catalog::sample_event;
use hookline_core::template::Template;

const SLACK_TEMPLATE: &str = r#"{
  "username": "Unleash",
  "text": "{{eventMarkdown}}",
  "attachments": [{
    "title": "{{event.type}} on {{event.featureName}}",
    "fields": [
      {"title": "Project", "value": "{{event.project}}"},
      {"title": "Environment", "value": "{{event.environment}}"},
      {"title": "Strategy", "value": "{{event.data.title}} ({{event.data.name}})"},
      {"title": "By", "value": "{{event.createdBy}}"}
    ],
    "tags": [{{#event.tags}}"{{type}}:{{value}}", {{/event.tags}}null]
  }]
}"#;

fn render(c: &mut Criterion) {
    let event = sample_event("feature-strategy-update").expect("sample");
    let template = Template::compile(SLACK_TEMPLATE).expect("compiles");
    let base = Some("https://unleash.example.com");
    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(1));
    // The dispatcher's path: the event is held as JSON and the context borrows it.
    let event_value = event.to_value();
    group.bench_function("slack_template_strategy_update", |b| {
        b.iter(|| render_event_json(Some(black_box(&template)), black_box(&event_value), "application/json", base))
    });
    // One delivery attempt in total: read the stored payload, then render.
    let payload = event.to_json();
    group.bench_function("slack_template_from_stored_payload", |b| {
        b.iter(|| {
            let value: serde_json::Value = serde_json::from_str(black_box(&payload)).expect("json");
            render_event_json(Some(&template), &value, "application/json", base)
        })
    });
    // The preview's path: from the event struct.
    group.bench_function("slack_template_from_event_struct", |b| {
        b.iter(|| render_body(Some(black_box(&template)), black_box(&event), "application/json", base))
    });
    let quirk = Template::compile(r#"{"json": {{{eventJson}}}}"#).expect("compiles");
    group.bench_function("unleash_event_json_quirk", |b| {
        b.iter(|| render_event_json(Some(black_box(&quirk)), black_box(&event_value), "application/json", None))
    });
    group.bench_function("no_template_event_json", |b| {
        b.iter(|| render_event_json(None, black_box(&event_value), "application/json", None))
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
