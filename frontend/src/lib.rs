//! The WASM entry point: takes over the server-rendered page and makes it interactive.
// Leptos views are deeply nested types; the release build lays them out here, in the crate that
// instantiates the whole app, and the delivery table outgrows the default limit of 128 (the app
// crate carries the same setting).
#![recursion_limit = "256"]

/// Called by the generated JS loader once the WASM module is instantiated.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
