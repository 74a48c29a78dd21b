//! The one-line Markdown summary of an event (`eventMarkdown` in templates), word for word what
//! Unleash 7.5.1's webhook addon puts there: the `text` of its `FeatureEventFormatterMd` (Markdown
//! links, single-`*` bold), built with the Unleash URL as given.
//!
//! Receivers written for Unleash's webhook see the same text from Hookline, so Unleash's behaviour
//! is reproduced exactly, quirks included, and checked against Unleash's own code by the fixture
//! test (`core/tests/unleash_markdown.rs`, fixture made by `make unleash-fixture`):
//! - Names are inserted as they are: no Markdown escaping, no URL encoding. A `_`, `*` or `[` in a
//!   flag name can change the formatting, as it does in Unleash.
//! - Links are `{base}/projects/{project}/features/{flag}` by plain concatenation: a base URL
//!   ending in `/` gives `//`.
//! - A missing value leaves an empty bold marker (`**`, or a lone `*` where Unleash's code builds
//!   the bold itself), and some missing values are printed the way JavaScript prints them
//!   (`undefined`, `null` as in `/projects/null/features/…`, `[object Object]`).
//! - A few types have no sentence of their own in Unleash (e.g. `feature-variants-updated`,
//!   `feature-updated`): they read `*user* triggered *type*`.
//!
//! Differences, both where Unleash has no answer:
//! - Without a base URL (`None`; Unleash always has one) names are bold without links.
//! - Where Unleash's formatter throws on a malformed strategy payload (so Unleash sends no webhook
//!   at all), Hookline still writes the sentence, without the details of the strategy change.

use serde_json::{Map, Value};

use crate::event::{Event, EventView};

/// One-line Markdown summary of the event: Unleash 7.5.1's `eventMarkdown` for the same event and
/// the Unleash URL `base_url` (e.g. `https://unleash.example.com`, used exactly as given). With
/// `None` the flag, project and change request are bold names without links.
pub fn event_markdown(event: &Event, base_url: Option<&str>) -> String {
    markdown_of(EventView::from(event), base_url)
}

/// `event_markdown` for a borrowed view (e.g. of the event's JSON, as the dispatcher holds it).
/// Absent and `null` fields read alike, as `null`: Unleash's addons get events from its database,
/// where every field is present and a missing one is `null`.
pub fn markdown_of(event: EventView<'_>, base_url: Option<&str>) -> String {
    let summary = Summary { event, base: base_url };
    match sentence(event.event_type) {
        Some(template) => summary.fill(template),
        // Unleash's fallback sentence, with its bold built in code: an empty name is a lone `*`.
        None => format!("{} triggered {}", bold(Js::Str(event.created_by)), bold(Js::Str(event.event_type))),
    }
}

/// Unleash's sentence for an event type, with `{…}` slots (see `Summary::slot`) and `*` for its
/// bold marker. `None` for types Unleash has no sentence for.
fn sentence(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "feature-created" => "*{user}* created *{feature}* in project *{project}*",
        "feature-metadata-updated" => "*{user}* updated *{feature}* metadata in project *{project}*",
        "feature-project-change" => "*{user}* moved *{feature}* from *{data.oldProject}* to *{project}*",
        "feature-archived" => "*{user}* archived *{featureName}* in project *{project}*",
        "feature-deleted" => "*{user}* deleted *{featureName}* in project *{project}*",
        "feature-revived" => "*{user}* revived *{feature}* in project *{project}*",
        "feature-stale-on" => "*{user}* marked *{feature}* as stale in project *{project}*",
        "feature-stale-off" => "*{user}* removed the stale marking on *{feature}* in project *{project}*",
        "feature-completed" => "*{feature}* was marked as completed in project *{project}*",
        "feature-potentially-stale-on" => "*{feature}* was marked as potentially stale in project *{project}*",
        "feature-strategy-add" => {
            "*{user}* added strategy *{strategy_title}* to *{feature}* for the *{environment}* environment in project *{project}*"
        }
        "feature-strategy-remove" => {
            "*{user}* removed strategy *{strategy_title}* from *{feature}* for the *{environment}* environment in project *{project}*"
        }
        "feature-strategy-update" => "*{user}* updated *{feature}* in project *{project}* {strategy_change}",
        "feature-environment-enabled" => {
            "*{user}* enabled *{feature}* for the *{environment}* environment in project *{project}*"
        }
        "feature-environment-disabled" => {
            "*{user}* disabled *{feature}* for the *{environment}* environment in project *{project}*"
        }
        "feature-environment-variants-updated" => {
            "*{user}* updated variants for *{feature}* for the *{environment}* environment in project *{project}*"
        }
        "feature-tagged" => "*{user}* tagged *{feature}* with *{data.type}:{data.value}* in project *{project}*",
        "feature-untagged" => {
            "*{user}* untagged *{feature}* with *{preData.type}:{preData.value}* in project *{project}*"
        }
        "change-request-created" => "*{user}* created change request {change_request}",
        "change-request-discarded" => "*{user}* discarded change request {change_request}",
        "change-request-rejected" => "*{user}* rejected change request {change_request}",
        "change-request-approved" => "*{user}* approved change request {change_request}",
        "change-request-approval-added" => "*{user}* added an approval to change request {change_request}",
        "change-request-cancelled" => "*{user}* cancelled change request {change_request}",
        "change-request-sent-to-review" => "*{user}* sent to review change request {change_request}",
        "change-request-applied" => "*{user}* applied change request {change_request}",
        "change-added" => "*{user}* added a change to change request {change_request}",
        "change-discarded" => "*{user}* discarded a change in change request {change_request}",
        "change-edited" => "*{user}* edited a change in change request {change_request}",
        "change-request-scheduled" => {
            "*{user}* scheduled change request {change_request} to be applied at {data.scheduledDate}."
        }
        "change-request-scheduled-application-success" => {
            "*Successfully* applied the scheduled change request {change_request} by *{user}*."
        }
        "change-request-scheduled-application-failure" => {
            "*Failed* to apply the scheduled change request {change_request} by *{user}*."
        }
        "change-request-schedule-suspended" => {
            "Change request {change_request} was suspended for the following reason: {data.reason}"
        }
        "release-plan-added" => {
            "*{user}* added release plan *{data.name}* to *{feature}* for the *{environment}* environment in project *{project}*"
        }
        "release-plan-removed" => {
            "*{user}* removed release plan *{preData.name}* from *{feature}* for the *{environment}* environment in project *{project}*"
        }
        "release-plan-milestone-started" => {
            "*{user}* started milestone *{data.milestoneName}* in release plan *{data.name}* for *{feature}* for the *{environment}* environment in project *{project}*"
        }
        "release-plan-progressions-paused" => {
            "*Release plan progressions paused* by safeguard for *{feature}* in the *{environment}* environment in project *{project}*"
        }
        "release-plan-progressions-resumed" => {
            "*{user}* resumed release plan progressions for *{feature}* in the *{environment}* environment in project *{project}*"
        }
        "project-created" => "*{user}* created project *{project}*",
        "project-archived" => "*{user}* archived project *{projectName}*",
        "project-deleted" => "*{user}* deleted project *{projectName}*",
        "addon-config-created" => "*{user}* created a new *{data.provider}* integration configuration",
        "addon-config-updated" => "*{user}* updated a *{preData.provider}* integration configuration",
        "addon-config-deleted" => "*{user}* deleted a *{preData.provider}* integration configuration",
        "api-token-created" => "*{user}* created API token *{data.username}*",
        "api-token-deleted" => "*{user}* deleted API token *{preData.username}*",
        "context-field-created" => "*{user}* created context field *{data.name}*",
        "context-field-updated" => "*{user}* updated context field *{preData.name}*",
        "context-field-deleted" => "*{user}* deleted context field *{preData.name}*",
        "group-created" => "*{user}* created group *{data.name}*",
        "group-updated" => "*{user}* updated group *{preData.name}*",
        "group-deleted" => "*{user}* deleted group *{preData.name}*",
        "banner-created" => "*{user}* created banner *{data.message}*",
        "banner-updated" => "*{user}* updated banner *{preData.message}*",
        "banner-deleted" => "*{user}* deleted banner *{preData.message}*",
        "segment-created" => "*{user}* created segment *{data.name}*",
        "segment-updated" => "*{user}* updated segment *{preData.name}*",
        "segment-deleted" => "*{user}* deleted segment *{preData.name}*",
        "service-account-created" => "*{user}* created service account *{data.name}*",
        "service-account-updated" => "*{user}* updated service account *{preData.name}*",
        "service-account-deleted" => "*{user}* deleted service account *{preData.name}*",
        "user-created" => "*{user}* created user *{data.name}*",
        "user-updated" => "*{user}* updated user *{preData.name}*",
        "user-deleted" => "*{user}* deleted user *{preData.name}*",
        // Hookline's own operational events (Unleash has none of these).
        "hookline.webhook.disabled" => "*{user}* disabled webhook *{data.title}*: {data.reason}",
        "hookline.webhook.paused" => {
            "*{user}* paused webhook *{data.title}* until *{data.pausedUntil}* after *{data.consecutiveFailures}* failed attempts in a row"
        }
        "hookline.webhook.resumed" => "*{user}* resumed webhook *{data.title}*",
        _ => return None,
    })
}

/// Unleash's code-built bold: `*text*`, or a lone `*` when the value is falsy in JavaScript.
fn bold(value: Js<'_>) -> String {
    if value.truthy() {
        format!("*{}*", value.text())
    } else {
        "*".to_owned()
    }
}

/// The wording of a constraint operator in a strategy change, as Unleash describes it.
fn operator_description(operator: &str) -> Option<&'static str> {
    Some(match operator {
        "IN" => "is one of",
        "NOT_IN" => "is not one of",
        "STR_CONTAINS" => "is a string that contains",
        "STR_STARTS_WITH" => "is a string that starts with",
        "STR_ENDS_WITH" => "is a string that ends with",
        "NUM_EQ" => "is a number equal to",
        "NUM_GT" => "is a number greater than",
        "NUM_GTE" => "is a number greater than or equal to",
        "NUM_LT" => "is a number less than",
        "NUM_LTE" => "is a number less than or equal to",
        "DATE_BEFORE" => "is a date before",
        "DATE_AFTER" => "is a date after",
        "SEMVER_EQ" => "is a SemVer equal to",
        "SEMVER_GT" => "is a SemVer greater than",
        "SEMVER_LT" => "is a SemVer less than",
        "REGEX" => "matches regex",
        _ => return None,
    })
}

/// Where Unleash's formatter would throw a `TypeError` (e.g. reading a property of `null`).
#[derive(Debug)]
struct Thrown;

/// The event being summarised and the Unleash URL its links start with.
struct Summary<'a> {
    event: EventView<'a>,
    base: Option<&'a str>,
}

impl<'a> Summary<'a> {
    /// The sentence with its slots filled. Slots are the values Unleash's formatter hands its
    /// Mustache template; like Mustache, a missing value fills in as nothing.
    fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 128);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let end = after.find('}').unwrap_or(after.len());
            out.push_str(&self.slot(&after[..end]));
            rest = after.get(end + 1..).unwrap_or_default();
        }
        out.push_str(rest);
        out
    }

    fn slot(&self, name: &str) -> String {
        let event = &self.event;
        match name {
            "user" => event.created_by.to_owned(),
            "feature" => self.feature().unwrap_or_default(),
            "project" => self.project().unwrap_or_default(),
            "change_request" => self.change_request().unwrap_or_default(),
            "strategy_title" => self.strategy_title().mustache(),
            // Unleash would throw (and send nothing): keep the sentence without the details.
            "strategy_change" => self.strategy_change().unwrap_or_else(|Thrown| self.strategy_change_lead()),
            "featureName" => event.feature_name.unwrap_or_default().to_owned(),
            "environment" => event.environment.unwrap_or_default().to_owned(),
            "projectName" => event.project.unwrap_or_default().to_owned(),
            path => match path.split_once('.') {
                Some(("data", key)) => self.data().get(key).mustache(),
                Some(("preData", key)) => self.pre_data().get(key).mustache(),
                _ => String::new(),
            },
        }
    }

    fn data(&self) -> Js<'a> {
        Js::field(self.event.data)
    }

    fn pre_data(&self) -> Js<'a> {
        Js::field(self.event.pre_data)
    }

    fn project_value(&self) -> Js<'a> {
        self.event.project.map_or(Js::Null, Js::Str)
    }

    fn environment_value(&self) -> Js<'a> {
        self.event.environment.map_or(Js::Null, Js::Str)
    }

    /// `[text](url)` with the URL as plain concatenation onto the base, or just the text when
    /// there is no base URL.
    fn link(&self, text: &str, path: &str) -> String {
        match self.base {
            Some(base) => format!("[{text}]({base}{path})"),
            None => text.to_owned(),
        }
    }

    /// The flag linked to its page, when the event names one. An archived flag's link goes to the
    /// project's archive; a flag without a project links into project `null`, as in Unleash.
    fn feature(&self) -> Option<String> {
        let flag = self.event.feature_name.filter(|f| !f.is_empty())?;
        let project = self.project_value();
        let path = if self.event.event_type == "feature-archived" {
            if project.truthy() {
                format!("/projects/{}/archive", project.text())
            } else {
                "/archive".to_owned()
            }
        } else {
            format!("/projects/{}/features/{flag}", project.text())
        };
        Some(self.link(flag, &path))
    }

    /// The project linked to its page, when the event names one.
    fn project(&self) -> Option<String> {
        let project = self.event.project.filter(|p| !p.is_empty())?;
        Some(self.link(project, &format!("/projects/{project}")))
    }

    /// `*[#42](…)*` followed by the flag, environment and project it concerns; nothing without a
    /// project or a (truthy) change request id.
    fn change_request(&self) -> Option<String> {
        let project = self.event.project.filter(|p| !p.is_empty())?;
        let id = self.data().get("changeRequestId").or(self.pre_data().get("changeRequestId"));
        if !id.truthy() {
            return None;
        }
        let id = id.text();
        let mut out =
            format!("*{}*", self.link(&format!("#{id}"), &format!("/projects/{project}/change-requests/{id}")));
        if let Some(feature) = self.feature() {
            out.push_str(&format!(" for feature flag *{feature}*"));
        }
        let environment = self.environment_value();
        if environment.truthy() {
            out.push_str(&format!(" in the {} environment", bold(environment)));
        }
        if let Some(project) = self.project() {
            out.push_str(&format!(" in project *{project}*"));
        }
        Some(out)
    }

    /// The strategy's title, else its name; the strategy before the change wins.
    fn strategy_title(&self) -> Js<'a> {
        let (data, pre) = (self.data(), self.pre_data());
        pre.get("title").or(data.get("title")).or(pre.get("name")).or(data.get("name"))
    }

    /// `by updating strategy *title* in *env*`: the start of every strategy change text.
    fn strategy_change_lead(&self) -> String {
        format!("by updating strategy {} in {}", bold(self.strategy_title()), bold(self.environment_value()))
    }

    /// What a `feature-strategy-update` changed: the lead, then `;`-separated details for the
    /// strategy types Unleash describes. Empty for other types or without either payload.
    fn strategy_change(&self) -> Result<String, Thrown> {
        let (data, pre) = (self.data(), self.pre_data());
        let strategy = data.or(pre);
        if self.event.event_type != "feature-strategy-update" || !strategy.truthy() {
            return Ok(String::new());
        }
        let details = match strategy.get("name") {
            Js::Str("flexibleRollout") => {
                let (before, after) = (pre.get("parameters"), data.get("parameters"));
                let changed =
                    |key: &str, label: &str, unit: &str| change_text(label, before.get(key), after.get(key), unit);
                vec![
                    changed("stickiness", "stickiness", ""),
                    changed("rollout", "rollout", "%"),
                    changed("groupId", "groupId", ""),
                    constraints_change(pre.get("constraints"), data.get("constraints"))?,
                    segments_change(pre.get("segments"), data.get("segments"))?,
                ]
            }
            Js::Str("default") => vec![
                constraints_change(pre.get("constraints"), data.get("constraints"))?,
                segments_change(pre.get("segments"), data.get("segments"))?,
            ],
            Js::Str("remoteAddress") => self.list_strategy_details("IPs")?,
            Js::Str("applicationHostname") => self.list_strategy_details("hostNames")?,
            _ => Vec::new(),
        };
        let details: Vec<String> = details.into_iter().filter(|d| !d.is_empty()).collect();
        Ok(format!("{}{}", self.strategy_change_lead(), details.join(";")))
    }

    /// The details of a strategy whose parameter `key` is a list (IPs, host names).
    fn list_strategy_details(&self, key: &str) -> Result<Vec<String>, Thrown> {
        let (data, pre) = (self.data(), self.pre_data());
        // `payload?.parameters[key]`: no payload is fine, a payload without parameters throws.
        let parameter = |payload: Js<'a>| -> Result<Js<'a>, Thrown> {
            if payload.is_nullish() {
                Ok(Js::Undefined)
            } else {
                Ok(payload.get_strict("parameters")?.get(key))
            }
        };
        let (before, after) = (parameter(pre)?, parameter(data)?);
        let listed = |values: Js<'_>| -> Result<String, Thrown> {
            Ok(if values.length_is_zero()? { format!("empty set of {key}") } else { format!("[{}]", values.text()) })
        };
        let values = if before.strict_eq(after) {
            String::new()
        } else if !pre.truthy() {
            format!(" {key} to {}", listed(after)?)
        } else {
            format!(" {key} from {} to {}", listed(before)?, listed(after)?)
        };
        Ok(vec![
            values,
            constraints_change(pre.get("constraints"), data.get("constraints"))?,
            segments_change(pre.get("segments"), data.get("segments"))?,
        ])
    }
}

/// ` label from old to new`, ` label to new` when there was no (truthy) old value, or nothing
/// when the values are identical in JavaScript's `===` sense.
fn change_text(label: &str, before: Js<'_>, after: Js<'_>, unit: &str) -> String {
    if before.strict_eq(after) {
        String::new()
    } else if !before.truthy() {
        format!(" {label} to {}{unit}", after.text())
    } else {
        format!(" {label} from {}{unit} to {}{unit}", before.text(), after.text())
    }
}

/// ` constraints from […] to […]`, or nothing when both read the same.
fn constraints_change(before: Js<'_>, after: Js<'_>) -> Result<String, Thrown> {
    let (before, after) = (constraints_text(before)?, constraints_text(after)?);
    Ok(if before == after { String::new() } else { format!(" constraints from {before} to {after}") })
}

fn constraints_text(constraints: Js<'_>) -> Result<String, Thrown> {
    // An absent list defaults to empty; a `null` one throws.
    if matches!(constraints, Js::Undefined) || constraints.length_is_zero()? {
        return Ok("empty set of constraints".to_owned());
    }
    let Js::Array(items) = constraints else { return Err(Thrown) };
    let texts = items.iter().map(|c| constraint_text(Js::from(c))).collect::<Result<Vec<_>, _>>()?;
    Ok(format!("[{}]", texts.join(", ")))
}

/// `contextName [not ]operator value`, the value being `value` when the constraint has one, else
/// `(values joined by commas)`.
fn constraint_text(constraint: Js<'_>) -> Result<String, Thrown> {
    let value = match constraint {
        Js::Undefined | Js::Null => return Err(Thrown),
        Js::Object(map) if map.contains_key("value") => constraint.get("value").text(),
        // An array's `values` is its iterator method, which has no `join`.
        Js::Array(_) => return Err(Thrown),
        _ => match constraint.get("values") {
            Js::Undefined | Js::Null => "(undefined)".to_owned(),
            values => format!("({})", values.join(",")?),
        },
    };
    let operator = constraint.get("operator").text();
    let operator = operator_description(&operator).map_or(operator, str::to_owned);
    let not = if constraint.get("inverted").truthy() { "not " } else { "" };
    Ok(format!("{} {not}{operator} {value}", constraint.get("contextName").text()))
}

/// ` segments from (…) to (…)`, or nothing when both read the same.
fn segments_change(before: Js<'_>, after: Js<'_>) -> Result<String, Thrown> {
    let text = |segments: Js<'_>| -> Result<String, Thrown> {
        if matches!(segments, Js::Undefined) || segments.length_is_zero()? {
            Ok("empty set of segments".to_owned())
        } else {
            Ok(format!("({})", segments.join(",")?))
        }
    };
    let (before, after) = (text(before)?, text(after)?);
    Ok(if before == after { String::new() } else { format!(" segments from {before} to {after}") })
}

/// A JSON value as Unleash's JavaScript sees it, with `undefined` for what is absent: the
/// formatter's output depends on JavaScript's truthiness, `===` and string conversion.
#[derive(Clone, Copy, Debug)]
enum Js<'a> {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    Str(&'a str),
    Array(&'a [Value]),
    Object(&'a Map<String, Value>),
}

impl<'a> From<&'a Value> for Js<'a> {
    fn from(value: &'a Value) -> Self {
        match value {
            Value::Null => Js::Null,
            Value::Bool(b) => Js::Bool(*b),
            // JavaScript numbers are doubles: big integers round as they do in JSON.parse.
            Value::Number(n) => Js::Number(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Js::Str(s),
            Value::Array(items) => Js::Array(items),
            Value::Object(map) => Js::Object(map),
        }
    }
}

impl<'a> Js<'a> {
    /// An event field: Unleash reads events from its database, where a missing field is `null`.
    fn field(value: Option<&'a Value>) -> Self {
        value.map_or(Js::Null, Js::from)
    }

    fn is_nullish(self) -> bool {
        matches!(self, Js::Undefined | Js::Null)
    }

    fn truthy(self) -> bool {
        match self {
            Js::Undefined | Js::Null => false,
            Js::Bool(b) => b,
            Js::Number(n) => n != 0.0 && !n.is_nan(),
            Js::Str(s) => !s.is_empty(),
            Js::Array(_) | Js::Object(_) => true,
        }
    }

    /// `a || b`.
    fn or(self, other: Js<'a>) -> Js<'a> {
        if self.truthy() {
            self
        } else {
            other
        }
    }

    /// `value?.key`, and `value.key` where `value` cannot be nullish: only objects have the keys
    /// read here; anything else, `null` and `undefined` included, gives `undefined`.
    fn get(self, key: &str) -> Js<'a> {
        match self {
            Js::Object(map) => map.get(key).map_or(Js::Undefined, Js::from),
            _ => Js::Undefined,
        }
    }

    /// `value.key`, which throws on `null` and `undefined`.
    fn get_strict(self, key: &str) -> Result<Js<'a>, Thrown> {
        if self.is_nullish() {
            Err(Thrown)
        } else {
            Ok(self.get(key))
        }
    }

    /// `value.length === 0`, which throws on `null` and `undefined`.
    fn length_is_zero(self) -> Result<bool, Thrown> {
        match self {
            Js::Undefined | Js::Null => Err(Thrown),
            Js::Array(items) => Ok(items.is_empty()),
            Js::Str(s) => Ok(s.is_empty()),
            Js::Object(_) => Ok(self.get("length").strict_eq(Js::Number(0.0))),
            Js::Bool(_) | Js::Number(_) => Ok(false),
        }
    }

    /// `value.join(separator)`, which only arrays have.
    fn join(self, separator: &str) -> Result<String, Thrown> {
        match self {
            Js::Array(items) => Ok(join(items, separator)),
            _ => Err(Thrown),
        }
    }

    /// `a === b`: separately parsed objects and arrays are never identical.
    fn strict_eq(self, other: Js<'_>) -> bool {
        match (self, other) {
            (Js::Undefined, Js::Undefined) | (Js::Null, Js::Null) => true,
            (Js::Bool(a), Js::Bool(b)) => a == b,
            (Js::Number(a), Js::Number(b)) => a == b,
            (Js::Str(a), Js::Str(b)) => a == b,
            _ => false,
        }
    }

    /// `String(value)`, as in a template literal: `undefined`, `null`, `[object Object]`, arrays
    /// joined by commas.
    fn text(self) -> String {
        match self {
            Js::Undefined => "undefined".to_owned(),
            Js::Null => "null".to_owned(),
            Js::Bool(b) => b.to_string(),
            Js::Number(n) => number_text(n),
            Js::Str(s) => s.to_owned(),
            Js::Array(items) => join(items, ","),
            Js::Object(_) => "[object Object]".to_owned(),
        }
    }

    /// The value as a Mustache variable prints it: nothing for `null` and `undefined`.
    fn mustache(self) -> String {
        if self.is_nullish() {
            String::new()
        } else {
            self.text()
        }
    }
}

/// `Array.prototype.join`: `null` items print as nothing.
fn join(items: &[Value], separator: &str) -> String {
    let texts: Vec<String> = items.iter().map(|item| Js::from(item).mustache()).collect();
    texts.join(separator)
}

/// JavaScript's `Number.prototype.toString()`: integers without a fraction, the shortest digits
/// that round-trip, and exponent notation from 1e21 up and below 1e-6.
fn number_text(n: f64) -> String {
    if n.is_nan() {
        return "NaN".to_owned();
    }
    if n == 0.0 {
        return "0".to_owned(); // also -0
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if n < 0.0 { "-" } else { "" };
    // Rust's `{:e}` gives the same shortest round-trip digits: `d.ddd` and the exponent.
    let scientific = format!("{:e}", n.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i64;
    // The decimal point sits after `point` digits: value = 0.digits × 10^point.
    let point = exponent.parse::<i64>().unwrap_or(0) + 1;
    let body = if k <= point && point <= 21 {
        format!("{digits}{}", "0".repeat((point - k) as usize))
    } else if 0 < point && point <= 21 {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    } else if -6 < point && point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else {
        let e = point - 1;
        let e_sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        format!("{first}{rest}e{e_sign}{}", e.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_print_as_in_javascript() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (50.0, "50"),
            (12.5, "12.5"),
            (-3.25, "-3.25"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1.5e22, "1.5e+22"),
            (123456789012345680000.0, "123456789012345680000"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.25e-7, "1.25e-7"),
            (12345678901234567890.0, "12345678901234567000"),
        ];
        for (n, text) in cases {
            assert_eq!(number_text(n), text, "{n:e}");
        }
    }

    #[test]
    fn values_convert_as_in_javascript() {
        let value = json!({ "list": [1, null, "a", [2, 3], {}], "empty": "", "zero": 0, "no": false });
        let js = Js::from(&value);
        assert_eq!(js.get("list").text(), "1,,a,2,3,[object Object]");
        assert_eq!(js.text(), "[object Object]");
        assert_eq!(js.get("missing").text(), "undefined");
        assert_eq!(js.get("missing").mustache(), "");
        assert_eq!(js.get("no").mustache(), "false");
        for key in ["empty", "zero", "no", "missing"] {
            assert!(!js.get(key).truthy(), "{key}");
        }
        assert!(js.get("list").truthy());
        assert!(Js::Number(50.0).strict_eq(Js::from(&json!(50))));
        assert!(!Js::Str("50").strict_eq(Js::Number(50.0)));
        assert!(!js.get("list").strict_eq(js.get("list")), "arrays are never identical");
        assert!(Js::Undefined.strict_eq(Js::Undefined) && !Js::Undefined.strict_eq(Js::Null));
    }

    #[test]
    fn slots_fill_and_unknown_slots_are_empty() {
        let event = crate::catalog::sample_event("feature-tagged").expect("sample");
        let summary = Summary { event: EventView::from(&event), base: None };
        assert_eq!(
            summary.fill("*{user}* {nothing}/{data.type}:{data.value}/{preData.value}"),
            "*user@example.com* /simple:q4-experiment/"
        );
        assert_eq!(summary.fill("{unclosed"), "");
    }
}
