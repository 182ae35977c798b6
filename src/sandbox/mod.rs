//! The sandbox: a local emulator of the four import APIs (DESIGN.md "Sandbox").
//!
//! `core` holds the contract between the server and the emulators; each provider folder is one
//! emulator with its own wire types. Nothing here may use `crate::providers`: the client and the
//! emulator are written independently so they cannot agree on a mistake.

pub mod core;
pub mod dotdigital;
pub mod eloqua;
pub mod marketo;
pub mod mypreferences;
