//! cargo-armature library
