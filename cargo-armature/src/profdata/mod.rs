//! PGO profiles in pure Rust: `.profraw` v10 in, indexed `.profdata` v13 out,
//! byte-identical to `llvm-profdata-22 merge`.
//!
//! `cargo armature pgo --merger builtin` calls [`merge_files`]; the
//! `cargo armature profdata merge|show` commands are [`ProfdataArgs`] + [`run`].
//! The formats are described in `shared/PGO-FORMAT.md`.
//!
//! ```no_run
//! use std::path::{Path, PathBuf};
//! let report = cargo_armature::profdata::merge_files(
//!     &[PathBuf::from("target/pgo-profiles")],
//!     Path::new("target/merged.profdata"),
//! )?;
//! println!("{report}");
//! # anyhow::Ok(())
//! ```

mod cli;
mod cxx_sort;
mod error;
mod files;
mod flags;
mod hash_table;
mod indexed;
mod merge;
mod names;
mod raw;
mod record;
mod show;
mod summary;
mod value_data;

use std::path::Path;

use anyhow::Context;
use md5::{Digest, Md5};

pub use cli::{run, ProfdataArgs, ProfdataCommand};
pub use error::{ErrorKind, FormatError};
pub use files::{collect_inputs, merge_files, merge_files_with, MergeOptions, MergeReport};
pub use indexed::{Function, IndexedProfile};
pub use raw::RawFile;
pub use record::{Record, ValueData, KIND_INDIRECT_CALL, KIND_MEMOP_SIZE, NUM_VALUE_KINDS};
pub use show::{show, ShowOptions};
pub use summary::{Summary, SummaryEntry};

use merge::MergedProfile;
use names::NameCache;

/// The key hash of a function name: the first 8 bytes of its MD5,
/// little-endian (`IndexedInstrProf::ComputeHash`).
pub(crate) fn md5_hash(name: &[u8]) -> u64 {
    let digest = Md5::digest(name);
    u64::from_le_bytes(digest[..8].try_into().expect("MD5 has 16 bytes"))
}

/// Parses a `.profraw` file's bytes (validation only; see [`merge_bytes`]).
pub fn parse_raw(bytes: &[u8]) -> Result<RawFile, FormatError> {
    raw::parse(bytes, &NameCache::default())
}

/// Parses an indexed `.profdata` file's bytes (versions 4 to 13).
pub fn parse_indexed(bytes: &[u8]) -> Result<IndexedProfile, FormatError> {
    indexed::parse(bytes)
}

/// Reads and parses an indexed `.profdata` file.
pub fn read_indexed(path: &Path) -> anyhow::Result<IndexedProfile> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_indexed(&bytes).with_context(|| format!("invalid profile {}", path.display()))
}

enum Loaded {
    Raw(RawFile),
    Indexed(IndexedProfile),
}

fn load_bytes(bytes: &[u8], cache: &NameCache) -> Result<Loaded, FormatError> {
    if bytes.len() >= 8 && error::le64(bytes) == flags::INDEXED_MAGIC {
        indexed::parse(bytes).map(Loaded::Indexed)
    } else {
        raw::parse(bytes, cache).map(Loaded::Raw)
    }
}

fn add(merger: &mut MergedProfile, loaded: Loaded, source: &str) -> Result<bool, FormatError> {
    match loaded {
        Loaded::Raw(file) => {
            let empty = file.profiles.is_empty();
            merger.add_raw(file, source)?;
            Ok(empty)
        }
        Loaded::Indexed(profile) => merger.add_indexed(profile, source).map(|()| false),
    }
}

/// Merges in-memory profiles (`.profraw` or indexed), named for error
/// messages, into the bytes of an indexed profile.
/// Inputs are merged one after another (llvm-profdata `--num-threads=1`).
pub fn merge_bytes(inputs: &[(&str, &[u8])]) -> Result<Vec<u8>, FormatError> {
    let cache = NameCache::default();
    let mut merger = MergedProfile::default();
    for (name, bytes) in inputs {
        add(&mut merger, load_bytes(bytes, &cache)?, name)?;
    }
    merger.write()
}
