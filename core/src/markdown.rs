//! The one-line Markdown summary of an event (`eventMarkdown` in templates), in the spirit of
//! Unleash's `FeatureEventFormatterMd`: who did what to which flag in which project/environment.
//!
//! Unlike Unleash it never prints `undefined`: a missing user, flag, project or payload field
//! shortens the sentence instead. User-provided names are Markdown-escaped and URL path segments
//! percent-encoded, so odd names cannot break the formatting or the links.

use serde_json::Value;

use crate::event::{Event, EventView};

/// One-line Markdown summary of the event, in the spirit of Unleash's FeatureEventFormatterMd:
/// who did what to which flag in which project/environment. With a base URL (e.g.
/// `https://unleash.example.com`, trailing slash tolerated) names become links: flag ->
/// `{base}/projects/{project}/features/{flag}`, project -> `{base}/projects/{project}`; without
/// one, plain bold names.
pub fn event_markdown(event: &Event, base_url: Option<&str>) -> String {
    markdown_of(EventView::from(event), base_url)
}

/// `event_markdown` for a borrowed view (e.g. of the event's JSON, as the dispatcher holds it).
pub fn markdown_of(event: EventView<'_>, base_url: Option<&str>) -> String {
    let base = base_url.map(|b| b.trim().trim_end_matches('/')).filter(|b| !b.is_empty());
    Summary { event, base }.render()
}

/// Escapes the characters that would change Markdown formatting (`\`, `*`, `_`, `[`, `]`, and
/// backticks) and folds line breaks into spaces so the summary stays on one line.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' | '*' | '_' | '[' | ']' | '`' => {
                out.push('\\');
                out.push(ch);
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters: one safe URL path segment.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn bold(text: &str) -> String {
    format!("*{}*", escape_markdown(text))
}

fn bold_link(text: &str, url: &str) -> String {
    format!("*[{}]({url})*", escape_markdown(text))
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// A non-empty string field of a payload object.
fn field<'v>(payload: Option<&'v Value>, key: &str) -> Option<&'v str> {
    non_empty(payload?.get(key)?.as_str())
}

/// A string or number field of a payload object, as text (ids and percentages come as either).
fn scalar(payload: Option<&Value>, key: &str) -> Option<String> {
    match payload?.get(key)? {
        Value::String(s) => non_empty(Some(s)).map(str::to_owned),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

struct Summary<'a> {
    event: EventView<'a>,
    base: Option<&'a str>,
}

impl Summary<'_> {
    fn data(&self) -> Option<&Value> {
        self.event.data.filter(|d| !d.is_null())
    }

    fn pre_data(&self) -> Option<&Value> {
        self.event.pre_data.filter(|d| !d.is_null())
    }

    fn project_name(&self) -> Option<&str> {
        non_empty(self.event.project)
    }

    /// The user who acted, bold, or `None` when the event does not say.
    fn actor(&self) -> Option<String> {
        non_empty(Some(self.event.created_by)).map(bold)
    }

    /// The user who acted as a sentence subject.
    fn subject(&self) -> String {
        self.actor().unwrap_or_else(|| "Someone".to_owned())
    }

    /// Whether a person (not Unleash itself) triggered the event.
    fn by_person(&self) -> bool {
        self.actor().is_some()
            && self.event.created_by != "unleash_system_user"
            && self.event.created_by_user_id != Some(-1337)
    }

    fn project_url(&self, project: &str) -> Option<String> {
        self.base.map(|base| format!("{base}/projects/{}", encode_segment(project)))
    }

    fn project(&self, project: &str) -> String {
        match self.project_url(project) {
            Some(url) => bold_link(project, &url),
            None => bold(project),
        }
    }

    /// The flag, linked to its page when the base URL and project are known.
    fn flag(&self) -> String {
        let Some(flag) = non_empty(self.event.feature_name) else {
            return "a feature flag".to_owned();
        };
        match self.project_name().and_then(|p| self.project_url(p)) {
            Some(project_url) => bold_link(flag, &format!("{project_url}/features/{}", encode_segment(flag))),
            None => bold(flag),
        }
    }

    /// ` in project *p*`, or nothing without a project.
    fn in_project(&self) -> String {
        self.project_name().map(|p| format!(" in project {}", self.project(p))).unwrap_or_default()
    }

    fn environment(&self) -> Option<&str> {
        non_empty(self.event.environment)
    }

    /// ` for the *env* environment`, or nothing without an environment.
    fn for_environment(&self) -> String {
        self.environment().map(|e| format!(" for the {} environment", bold(e))).unwrap_or_default()
    }

    /// ` in the *env* environment`, or nothing without an environment.
    fn in_environment(&self) -> String {
        self.environment().map(|e| format!(" in the {} environment", bold(e))).unwrap_or_default()
    }

    /// `change request *#42*`, linked when possible; `a change request` without an id.
    fn change_request(&self) -> String {
        let Some(id) = scalar(self.data(), "changeRequestId") else {
            return "a change request".to_owned();
        };
        let label = format!("#{id}");
        let url = self
            .project_name()
            .and_then(|p| self.project_url(p))
            .map(|project_url| format!("{project_url}/change-requests/{}", encode_segment(&id)));
        match url {
            Some(url) => format!("change request {}", bold_link(&label, &url)),
            None => format!("change request {}", bold(&label)),
        }
    }

    /// `The scheduled change request *#42*` (sentence start), or `A scheduled change request`.
    fn scheduled_change_request(&self) -> String {
        match self.change_request().strip_prefix("change request ") {
            Some(id) => format!("The scheduled change request {id}"),
            None => "A scheduled change request".to_owned(),
        }
    }

    /// The strategy's title, or its name when untitled.
    fn strategy_label(&self) -> Option<&str> {
        [self.data(), self.pre_data()]
            .into_iter()
            .flatten()
            .find_map(|s| field(Some(s), "title").or_else(|| field(Some(s), "name")))
    }

    fn strategy(&self) -> String {
        match self.strategy_label() {
            Some(label) => format!("strategy {}", bold(label)),
            None => "a strategy".to_owned(),
        }
    }

    /// What a strategy update changed, as a `by ...` phrase.
    fn strategy_change(&self) -> String {
        let strategy = self.strategy();
        let env = self.environment().map(|e| format!(" in {}", bold(e))).unwrap_or_default();
        let (after, before) = (self.data(), self.pre_data());
        let disabled = |s: Option<&Value>| s.and_then(|s| s.get("disabled")?.as_bool());
        match (disabled(before), disabled(after)) {
            (Some(false) | None, Some(true)) => return format!("by disabling {strategy}{env}"),
            (Some(true), Some(false)) => return format!("by enabling {strategy}{env}"),
            _ => {}
        }
        let rollout = |s: Option<&Value>| scalar(s?.get("parameters"), "rollout");
        match (rollout(before), rollout(after)) {
            (Some(from), Some(to)) if from != to => format!(
                "by changing the rollout of {strategy} from {} to {}{env}",
                bold(&format!("{from}%")),
                bold(&format!("{to}%"))
            ),
            _ => format!("by updating {strategy}{env}"),
        }
    }

    fn tag(payload: Option<&Value>) -> Option<String> {
        let value = field(payload, "value")?;
        Some(match field(payload, "type") {
            Some(tag_type) => bold(&format!("{tag_type}:{value}")),
            None => bold(value),
        })
    }

    fn variants(&self) -> Option<Vec<String>> {
        let variants = self.data()?.get("variants")?.as_array()?;
        Some(variants.iter().filter_map(|v| field(Some(v), "name")).map(bold).collect())
    }

    fn release_plan(&self) -> String {
        match field(self.data(), "name") {
            Some(name) => format!("release plan {}", bold(name)),
            None => "the release plan".to_owned(),
        }
    }

    fn render(&self) -> String {
        let u = self.subject();
        let flag = self.flag();
        let in_project = self.in_project();
        let for_env = self.for_environment();
        let cr = self.change_request();
        match self.event.event_type {
            "feature-created" => format!("{u} created {flag}{in_project}"),
            "feature-metadata-updated" => {
                format!("{u} updated the metadata of {flag}{in_project}")
            }
            "feature-updated" => format!("{u} updated {flag}{in_project}"),
            "feature-project-change" => self.project_change(&u, &flag),
            "feature-archived" => format!("{u} archived {flag}{in_project}"),
            "feature-revived" => format!("{u} revived {flag}{in_project}"),
            "feature-stale-on" => format!("{u} marked {flag} as stale{in_project}"),
            "feature-stale-off" => {
                format!("{u} removed the stale marking from {flag}{in_project}")
            }
            "feature-potentially-stale-on" => {
                format!("{flag} was marked as potentially stale{in_project}")
            }
            "feature-completed" => {
                let data = self.data();
                let status = field(data, "status").map(str::to_owned).or_else(|| {
                    let kept = data?.get("kept")?.as_bool()?;
                    Some(if kept { "kept" } else { "discarded" }.to_owned())
                });
                let outcome = status.map(|s| format!(": the feature was {}", bold(&s))).unwrap_or_default();
                format!("{u} marked {flag} as completed{in_project}{outcome}")
            }
            "feature-strategy-add" => {
                format!("{u} added {} to {flag}{for_env}{in_project}", self.strategy())
            }
            "feature-strategy-remove" => {
                format!("{u} removed {} from {flag}{for_env}{in_project}", self.strategy())
            }
            "feature-strategy-update" => {
                format!("{u} updated {flag}{in_project} {}", self.strategy_change())
            }
            "feature-environment-enabled" => format!("{u} enabled {flag}{for_env}{in_project}"),
            "feature-environment-disabled" => {
                format!("{u} disabled {flag}{for_env}{in_project}")
            }
            "feature-variants-updated" => match self.variants() {
                Some(names) if names.is_empty() => {
                    format!("{u} removed all variants of {flag}{for_env}{in_project}")
                }
                Some(names) => format!("{u} set the variants of {flag} to {}{for_env}{in_project}", names.join(", ")),
                None => format!("{u} updated the variants of {flag}{for_env}{in_project}"),
            },
            "feature-tagged" => match Self::tag(self.data()) {
                Some(tag) => format!("{u} tagged {flag} with {tag}{in_project}"),
                None => format!("{u} tagged {flag}{in_project}"),
            },
            "feature-untagged" => match Self::tag(self.pre_data()) {
                Some(tag) => format!("{u} removed the tag {tag} from {flag}{in_project}"),
                None => format!("{u} removed a tag from {flag}{in_project}"),
            },
            "change-request-created" => format!("{u} created {cr}{in_project}"),
            "change-request-discarded" => format!("{u} discarded {cr}{in_project}"),
            "change-added" => format!("{u} added a change{} to {cr}{in_project}", self.on_flag()),
            "change-discarded" => {
                format!("{u} discarded a change{} from {cr}{in_project}", self.on_flag())
            }
            "change-request-approved" => format!("{u} approved {cr}{in_project}"),
            "change-request-approval-added" => {
                format!("{u} added an approval to {cr}{in_project}")
            }
            "change-request-cancelled" => format!("{u} cancelled {cr}{in_project}"),
            "change-request-sent-to-review" => format!("{u} sent {cr}{in_project} to review"),
            "change-request-applied" => format!("{u} applied {cr}{in_project}"),
            "change-request-scheduled" => {
                let when = field(self.data(), "scheduledDate")
                    .map(|d| format!(" to be applied at {}", bold(d)))
                    .unwrap_or_default();
                format!("{u} scheduled {cr}{in_project}{when}")
            }
            "change-request-scheduled-application-success" => {
                let cr = self.scheduled_change_request();
                format!("{cr}{}{in_project} was applied successfully", self.by())
            }
            "change-request-scheduled-application-failure" => {
                let reason = field(self.data(), "failureReason")
                    .map(|r| format!(": {}", escape_markdown(r)))
                    .unwrap_or_default();
                let cr = self.scheduled_change_request();
                format!("{cr}{}{in_project} failed to apply{reason}", self.by())
            }
            "change-request-schedule-suspended" => {
                let reason =
                    field(self.data(), "reason").map(|r| format!(": {}", escape_markdown(r))).unwrap_or_default();
                format!("The schedule of {cr}{in_project} was suspended{reason}")
            }
            "release-plan-progressions-paused" => {
                let plan = self.release_plan();
                let rest = format!("for {flag}{}{in_project}", self.in_environment());
                if self.by_person() {
                    format!("{u} paused the progressions of {plan} {rest}")
                } else {
                    format!("Progressions of {plan} were paused {rest}")
                }
            }
            "release-plan-progressions-resumed" => {
                let plan = self.release_plan();
                let rest = format!("for {flag}{}{in_project}", self.in_environment());
                if self.by_person() {
                    format!("{u} resumed the progressions of {plan} {rest}")
                } else {
                    format!("Progressions of {plan} were resumed {rest}")
                }
            }
            other => {
                let what = non_empty(Some(other)).map(bold).unwrap_or_else(|| "an event".to_owned());
                let target =
                    if non_empty(self.event.feature_name).is_some() { format!(" on {flag}") } else { String::new() };
                format!("{u} triggered {what}{target}{for_env}{in_project}")
            }
        }
    }

    /// ` by *u*`, or nothing without a user.
    fn by(&self) -> String {
        self.actor().map(|a| format!(" by {a}")).unwrap_or_default()
    }

    /// ` to *flag*` style qualifier for changes in a change request: ` on *flag*` or nothing.
    fn on_flag(&self) -> String {
        if non_empty(self.event.feature_name).is_some() {
            format!(" on {}", self.flag())
        } else {
            String::new()
        }
    }

    fn project_change(&self, u: &str, flag: &str) -> String {
        let data = self.data();
        let old = field(data, "oldProject");
        let new = field(data, "newProject").or_else(|| self.project_name());
        match (old, new) {
            (Some(old), Some(new)) => {
                format!("{u} moved {flag} from project {} to project {}", self.project(old), self.project(new))
            }
            (None, Some(new)) => format!("{u} moved {flag} to project {}", self.project(new)),
            (Some(old), None) => format!("{u} moved {flag} out of project {}", self.project(old)),
            (None, None) => format!("{u} moved {flag} to another project"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_specials_and_line_breaks() {
        assert_eq!(escape_markdown("a_b*c[d]`e`\\f"), "a\\_b\\*c\\[d\\]\\`e\\`\\\\f");
        assert_eq!(escape_markdown("one\ntwo\r\nthree"), "one two  three");
        assert_eq!(escape_markdown("plain-name.1"), "plain-name.1");
    }

    #[test]
    fn encodes_url_segments() {
        assert_eq!(encode_segment("checkout-redesign"), "checkout-redesign");
        assert_eq!(encode_segment("a b/c(d)*é"), "a%20b%2Fc%28d%29%2A%C3%A9");
    }
}
