//! Rebuilds cargo-armature when an embedded template or the workspace lock
//! changes: `include_dir!` cannot tell cargo about the files it reads on stable.

fn main() {
    // Both are symlinks into the workspace in a checkout, real files in the
    // published crate; cargo follows the links when it checks them.
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=seed.lock");
    println!("cargo:rerun-if-changed=build.rs");
}
