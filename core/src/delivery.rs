//! The states and classes of deliveries and attempts. They are stored as text, sent in the API as
//! the same words, and filtered on, so each is one enum with one spelling: a typo in a match arm
//! or a SQL literal becomes a compile error here, and a wrong value in the database is refused
//! by its `CHECK` (see the migrations). With the `sqlx` feature each maps to a text column; with
//! `openapi` each is an OpenAPI string schema listing its words.

use serde::{Deserialize, Serialize};

/// Defines a text-valued enum: its serde/sqlx spelling, its OpenAPI schema (a string `enum` of
/// the words, with the `openapi` feature), `as_str`, `ALL`, `FromStr` and `Display`.
macro_rules! text_enum {
    ($(#[doc = $doc:literal])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(type_name = "text"))]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] #[cfg_attr(feature = "sqlx", sqlx(rename = $text))] $variant),+
        }

        // By hand rather than derived: utoipa's derive does not see the `serde(rename)` this macro
        // writes, and would list the variant names instead of the words.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let doc: &[&str] = &[$($doc),*];
                let description = doc.iter().map(|line| line.trim()).collect::<Vec<_>>().join("\n");
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(description))
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            /// Every value, in the order pages list them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word stored, sent and accepted in filters.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            /// Parses the word; the error lists the accepted ones.
            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "`{text}` is not {}: use {}",
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Other modules of this crate define their text enums the same way (`crate::audit`).
pub(crate) use text_enum;

text_enum! {
    /// Where a delivery is: waiting for its first attempt, waiting for a retry, or final.
    DeliveryState, "a delivery state" {
        Pending => "pending",
        Retrying => "retrying",
        Succeeded => "succeeded",
        Failed => "failed",
    }
}

impl DeliveryState {
    /// Whether nothing more will happen unless someone redelivers.
    pub const fn is_final(self) -> bool {
        matches!(self, DeliveryState::Succeeded | DeliveryState::Failed)
    }

    /// Whether the webhook's latest delivery in this state means it is in trouble.
    pub const fn is_failing(self) -> bool {
        matches!(self, DeliveryState::Failed | DeliveryState::Retrying)
    }
}

text_enum! {
    /// Unleash's own view of an integration event (its event log's `state`).
    UnleashState, "an Unleash state" {
        Success => "success",
        Failed => "failed",
        SuccessWithErrors => "successWithErrors",
    }
}

text_enum! {
    /// What caused an attempt: the retry schedule, an admin's redelivery, or a test send.
    AttemptTrigger, "an attempt trigger" {
        Scheduled => "scheduled",
        Manual => "manual",
        Test => "test",
    }
}

text_enum! {
    /// Why an attempt failed, when it did: what an operator checks first.
    ErrorClass, "an error class" {
        /// The host name did not resolve (or resolved only to refused addresses).
        Dns => "dns",
        /// The connection was refused or dropped.
        Connect => "connect",
        Timeout => "timeout",
        Tls => "tls",
        /// The SSRF guard refused the destination.
        Blocked => "blocked",
        Redirect => "redirect",
        /// A response arrived with a status that is not 2xx.
        Http => "http",
        /// The body could not be produced (template, stored event, signing).
        Render => "render",
    }
}

text_enum! {
    /// The HTTP status class of an attempt, for filters. `none`: no response arrived (status 0).
    StatusClass, "a status class" {
        Success => "2xx",
        Redirect => "3xx",
        ClientError => "4xx",
        ServerError => "5xx",
        NoResponse => "none",
    }
}

impl StatusClass {
    /// The inclusive range of status values the class stands for.
    pub const fn range(self) -> (i64, i64) {
        match self {
            StatusClass::Success => (200, 299),
            StatusClass::Redirect => (300, 399),
            StatusClass::ClientError => (400, 499),
            StatusClass::ServerError => (500, 599),
            StatusClass::NoResponse => (0, 0),
        }
    }

    /// What the class means, for the page's select.
    pub const fn label(self) -> &'static str {
        match self {
            StatusClass::Success => "2xx success",
            StatusClass::Redirect => "3xx redirect",
            StatusClass::ClientError => "4xx client error",
            StatusClass::ServerError => "5xx server error",
            StatusClass::NoResponse => "No response",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_text_and_json() {
        for state in DeliveryState::ALL {
            assert_eq!(state.as_str().parse::<DeliveryState>(), Ok(*state));
            assert_eq!(serde_json::to_string(state).expect("json"), format!("\"{state}\""));
        }
        assert_eq!(serde_json::to_string(&UnleashState::SuccessWithErrors).expect("json"), "\"successWithErrors\"");
        assert_eq!("4xx".parse::<StatusClass>().map(StatusClass::range), Ok((400, 499)));
        assert_eq!(ErrorClass::ALL.len(), 8);
    }

    #[test]
    fn unknown_words_are_refused_with_the_choices() {
        let err = "done".parse::<DeliveryState>().unwrap_err();
        assert_eq!(err, "`done` is not a delivery state: use pending, retrying, succeeded, failed");
        assert!(serde_json::from_str::<AttemptTrigger>("\"cron\"").is_err());
    }
}
