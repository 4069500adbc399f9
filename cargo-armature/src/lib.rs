//! cargo-armature: the `cargo armature` subcommand as a library, so that its
//! integration tests and the binary share one implementation.
//!
//! Each command lives in its own module with its clap args struct next to the
//! code that uses it; [`cli`] ties them together.

pub mod bench;
pub mod build;
pub mod cargo;
pub mod children;
pub mod cli;
pub mod doctor;
pub mod error;
pub mod fs;
pub mod load;
pub mod new;
pub mod pgo;
pub mod profdata;
pub mod profiles;
pub mod toolchain;
