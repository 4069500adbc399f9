//! The Armature build profiles (`release`, `release-fat`, `release-native`) and
//! adding the missing ones to a manifest with `toml_edit`, keeping the user's
//! comments, order and formatting.

use std::path::Path;

use anyhow::{bail, Context, Result};
use toml_edit::{DocumentMut, Item, Table};

/// Profile for the default optimised build (`cargo build --release`).
pub const RELEASE: &str = "release";
/// Profile for the fastest portable build, and the base of `cargo armature pgo`.
pub const RELEASE_FAT: &str = "release-fat";
/// Profile built with `-Ctarget-cpu=native` by `cargo armature build --native`.
pub const RELEASE_NATIVE: &str = "release-native";

/// The profiles as TOML, comments included; what a manifest gains when one is missing.
const PROFILES_TOML: &str = r#"
# Armature: the default optimised build (`cargo build --release`).
[profile.release]
lto = "thin"
codegen-units = 1

# Armature: fastest portable build (`cargo armature build --fat`, `cargo build-fat`);
# `cargo armature pgo` starts from it.
[profile.release-fat]
inherits = "release"
lto = "fat"
codegen-units = 1
panic = "abort"

# Armature: for this machine's CPU. `-Ctarget-cpu=native` cannot be set in a profile;
# `cargo armature build --native` (alias `cargo build-native`) adds it.
[profile.release-native]
inherits = "release"
lto = "thin"
"#;

/// Names of the Armature profiles, in the order they are added.
pub const NAMES: [&str; 3] = [RELEASE, RELEASE_FAT, RELEASE_NATIVE];

/// `--config` settings that stand in for a missing `[profile.NAME]`: the values
/// [`add_missing`] would write for it, e.g. `profile.release-fat.lto="fat"`.
///
/// ```
/// let settings = cargo_armature::profiles::fallback_config("release-fat");
/// assert!(settings.contains(&"profile.release-fat.lto=\"fat\"".to_owned()));
/// ```
pub fn fallback_config(name: &str) -> Vec<String> {
    let template: DocumentMut = PROFILES_TOML.parse().expect("PROFILES_TOML is valid TOML");
    template["profile"]
        .get(name)
        .and_then(Item::as_table)
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| {
                    let v = v.as_value()?.to_string();
                    Some(format!("profile.{name}.{k}={}", v.trim()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Adds every Armature profile that `doc` lacks and returns the names added.
///
/// Profiles the manifest already has are left exactly as written, and so is
/// everything else in the document; the new tables go at the end.
///
/// ```
/// let mut doc: toml_edit::DocumentMut = "# mine\n[package]\nname = \"x\"\n".parse().unwrap();
/// let added = cargo_armature::profiles::add_missing(&mut doc).unwrap();
/// assert_eq!(added, ["release", "release-fat", "release-native"]);
/// assert!(doc.to_string().starts_with("# mine\n[package]\nname = \"x\"\n"));
/// ```
pub fn add_missing(doc: &mut DocumentMut) -> Result<Vec<&'static str>> {
    let template: DocumentMut = PROFILES_TOML.parse().expect("PROFILES_TOML is valid TOML");
    let mut next_position = max_position(doc.as_table()).map_or(0, |p| p + 1);

    let profile = doc.entry("profile").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let Some(profile) = profile.as_table_mut() else {
        bail!("`profile` in the manifest is not a table; write it as `[profile.NAME]` sections");
    };

    let mut added = Vec::new();
    for name in NAMES {
        if profile.contains_key(name) {
            continue;
        }
        let mut table = template["profile"][name]
            .as_table()
            .expect("PROFILES_TOML defines every profile")
            .clone();
        table.set_position(next_position);
        next_position += 1;
        // Blank line before each added section, then its comment.
        let comment = table
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .trim_start_matches('\n')
            .to_owned();
        table.decor_mut().set_prefix(format!("\n{comment}"));
        profile.insert(name, Item::Table(table));
        added.push(name);
    }
    Ok(added)
}

/// Adds the missing Armature profiles to the manifest at `path` (written
/// atomically, and only when something was added); returns the names added.
pub fn ensure_in_manifest(path: &Path) -> Result<Vec<&'static str>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("cannot parse {}; fix the TOML error first", path.display()))?;
    let added = add_missing(&mut doc)
        .with_context(|| format!("cannot add profiles to {}", path.display()))?;
    if !added.is_empty() {
        crate::fs::write_atomic(path, doc.to_string().as_bytes())?;
    }
    Ok(added)
}

/// Whether `doc` defines every Armature profile.
pub fn has_all(doc: &DocumentMut) -> bool {
    NAMES
        .iter()
        .all(|name| doc.get("profile").and_then(|p| p.get(name)).is_some())
}

/// The largest table position in `table` (recursively): new tables go after it.
pub(crate) fn max_position(table: &Table) -> Option<usize> {
    let mut max = table.position();
    for (_, item) in table.iter() {
        let inner = match item {
            Item::Table(t) => max_position(t),
            Item::ArrayOfTables(a) => a.iter().filter_map(max_position).max(),
            _ => None,
        };
        max = max.max(inner);
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    const HAND_WRITTEN: &str = r#"# My service. Keep this comment.
[package]
name   = "svc"     # aligned on purpose
version = "0.1.0"

[dependencies]
# the core
armature-core = { path = "../armature-core" }

[profile.release]
# I want symbols.
debug = true

[features]
default = []
"#;

    #[test]
    fn adds_only_missing_profiles_and_keeps_everything_else() {
        let mut doc: DocumentMut = HAND_WRITTEN.parse().unwrap();
        let added = add_missing(&mut doc).unwrap();
        assert_eq!(added, [RELEASE_FAT, RELEASE_NATIVE]);
        let out = doc.to_string();
        assert!(
            out.starts_with(HAND_WRITTEN),
            "original text changed:\n{out}"
        );
        assert!(out.contains("[profile.release-fat]\ninherits = \"release\"\nlto = \"fat\""));
        assert!(out.contains("# Armature: for this machine's CPU."));
        // The user's release profile is untouched: no lto added to it.
        assert_eq!(doc["profile"]["release"].as_table().unwrap().len(), 1);
        assert!(has_all(&doc));
    }

    #[test]
    fn fallback_settings_are_the_template_values() {
        assert_eq!(
            fallback_config(RELEASE_FAT),
            [
                "profile.release-fat.inherits=\"release\"",
                "profile.release-fat.lto=\"fat\"",
                "profile.release-fat.codegen-units=1",
                "profile.release-fat.panic=\"abort\"",
            ]
        );
        assert!(fallback_config("nope").is_empty());
    }

    #[test]
    fn second_run_changes_nothing() {
        let mut doc: DocumentMut = HAND_WRITTEN.parse().unwrap();
        add_missing(&mut doc).unwrap();
        let once = doc.to_string();
        assert!(add_missing(&mut doc).unwrap().is_empty());
        assert_eq!(doc.to_string(), once);
    }

    #[test]
    fn empty_manifest_gets_all_three_in_order() {
        let mut doc = DocumentMut::new();
        assert_eq!(add_missing(&mut doc).unwrap(), NAMES);
        let out = doc.to_string();
        let pos = |s: &str| out.find(s).unwrap();
        assert!(pos("[profile.release]") < pos("[profile.release-fat]"));
        assert!(pos("[profile.release-fat]") < pos("[profile.release-native]"));
        assert!(!out.contains("[profile]\n"));
    }

    #[test]
    fn dotted_profile_key_is_rejected_with_advice() {
        let mut doc: DocumentMut = "profile = 3\n".parse().unwrap();
        let err = add_missing(&mut doc).unwrap_err().to_string();
        assert!(err.contains("[profile.NAME]"), "{err}");
    }
}
