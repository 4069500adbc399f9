//! Rebuilds cargo-armature when an embedded template or the workspace lock
//! changes: `include_dir!` cannot tell cargo about the files it reads on stable.

fn main() {
    println!("cargo:rerun-if-changed=../templates");
    println!("cargo:rerun-if-changed=../Cargo.lock");
    println!("cargo:rerun-if-changed=build.rs");
}
