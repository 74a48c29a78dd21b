//! Hookline's pure domain logic, shared by the server and the browser (WASM): the Unleash event
//! model, the catalog of subscribable event types with their sample events, the Markdown summary of
//! an event, the Mustache body-template engine, and the words of the audit log. No I/O here.
#![forbid(unsafe_code)]

pub mod audit;
pub mod body;
pub mod catalog;
pub mod context;
pub mod delivery;
pub mod event;
pub mod markdown;
pub mod operational;
pub mod scope;
pub mod subscription;
pub mod template;
pub mod timestamp;
