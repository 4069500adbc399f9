//! `cargo armature new` (being written).

pub mod name;

/// Arguments of `cargo armature new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {}

/// Runs `cargo armature new`.
pub fn run(_args: NewArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cargo armature new` is not implemented yet")
}
