//! `cargo armature bench` (being written).

/// Arguments of `cargo armature bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Runs `cargo armature bench`.
pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cargo armature bench` is not implemented yet")
}
