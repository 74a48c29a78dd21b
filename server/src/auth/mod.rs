//! Who is calling: admin sessions, API tokens, password hashing, sign-in throttling, the client's
//! address behind trusted proxies, and the middleware that guards every page and API (plus the
//! cross-site request check).

pub mod middleware;
pub mod password;
pub mod proxies;
pub mod throttle;
pub mod token;
