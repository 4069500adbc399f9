//! armature benches
