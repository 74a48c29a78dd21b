//! Types shared by the server and the browser, one module per entity. Serde only, no I/O.

pub mod admin;
pub mod audit;
pub mod delivery;
pub mod live;
pub mod preview;
pub mod reference;
pub mod webhook;

pub use admin::*;
pub use audit::*;
pub use delivery::*;
pub use live::*;
pub use webhook::*;
