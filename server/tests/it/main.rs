//! Hookline's integration tests: one binary, one module per feature. Each test starts the whole
//! server in-process on 127.0.0.1:0 with its own SQLite file and talks to it over real HTTP;
//! deliveries go to a real receiver on 127.0.0.1.

mod fake_unleash;
mod harness;
mod receiver;

mod accounts;
mod audit;
mod breaker;
mod catchup;
mod controls;
mod delivery;
mod errors;
mod foundation;
mod live;
mod log;
mod openapi;
mod postgres;
mod secrets;
mod security;
mod unleash;
mod webhooks;
