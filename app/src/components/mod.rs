//! Reusable pieces of the UI.

pub mod confirm;
pub mod copy;
pub mod deliveries;
pub mod error_template;
pub mod filters;
pub mod form;
pub mod layout;
pub mod live;
pub mod preview;
pub mod status;
pub mod time;
pub mod webhook_form;
