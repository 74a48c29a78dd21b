//! Routed pages, one module each.

pub mod api_reference;
pub mod audit;
pub mod connect;
pub mod dashboard;
pub mod deliveries;
pub mod delivery_detail;
pub mod events;
pub mod login;
pub mod settings;
pub mod setup;
pub mod webhook_detail;
pub mod webhook_list;

pub use api_reference::ApiReferencePage;
pub use audit::AuditPage;
pub use connect::ConnectUnleashPage;
pub use dashboard::DashboardPage;
pub use deliveries::DeliveriesPage;
pub use delivery_detail::DeliveryPage;
pub use events::EventsPage;
pub use login::LoginPage;
pub use settings::SettingsPage;
pub use setup::SetupPage;
pub use webhook_detail::{NewWebhookPage, WebhookDeliveriesPage, WebhookPage};
pub use webhook_list::WebhooksPage;
