//! `cargo armature doctor` (being written).

/// Arguments of `cargo armature doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {}

/// Runs `cargo armature doctor`.
pub fn run(_args: DoctorArgs) -> anyhow::Result<()> {
    anyhow::bail!("`cargo armature doctor` is not implemented yet")
}
