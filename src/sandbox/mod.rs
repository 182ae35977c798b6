//! The sandbox: a local emulator of the four import APIs (DESIGN.md "Sandbox").
//!
//! `core` holds the contract between the server and the emulators; each provider folder is one
//! emulator with its own wire types. `server` starts it (with `accept`, `control`, `faults`,
//! `stats` and `persist` as its layers). Nothing here may use `crate::providers`: the client and
//! the emulator are written independently so they cannot agree on a mistake.

mod accept;
mod control;
pub mod core;
pub mod dotdigital;
pub mod eloqua;
mod error;
mod faults;
pub mod marketo;
pub mod mypreferences;
mod persist;
mod server;
mod stats;

pub use error::SandboxError;
pub use server::{
    RunningSandbox, SandboxOptions, run_until_ctrl_c, start, start_embedded, wait_for_ctrl_c,
    wait_for_signal,
};
pub use stats::{EndpointStats, ProviderStats, StatsReport};
