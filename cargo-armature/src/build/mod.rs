//! `cargo armature build` (being written).

/// Arguments of `cargo armature build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {}

/// Runs `cargo armature build`.
pub fn run(_args: BuildArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cargo armature build` is not implemented yet")
}
