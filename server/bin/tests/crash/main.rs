//! The durability test on the real `hookline` binary (it lives in this package because only
//! here does Cargo build the binary for a test). It shares the integration suite's harness and
//! receiver (server/tests/it), of which it uses a part.

#[allow(dead_code)]
#[path = "../../../tests/it/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../../../tests/it/receiver.rs"]
mod receiver;

mod instances;
mod kill;
