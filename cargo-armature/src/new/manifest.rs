//! The generated app's `Cargo.toml` (built with toml_edit from the template's
//! `manifest.toml`) and `Cargo.lock` (seeded from the workspace's), and where
//! armature-core comes from.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use toml_edit::{value, DocumentMut, InlineTable, Item, Table};

use super::template::{self, Database, TemplateName};
use crate::profiles;

/// The armature-core version a registry install depends on: this binary's own,
/// since the two crates are released together with one version.
pub const CORE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The package armature-core is published as. The name `armature-core` on
/// crates.io belongs to an unrelated project; the library inside keeps the name
/// `armature_core`, so apps keep [`CORE_KEY`] and `use armature_core::...`.
pub const CORE_PACKAGE: &str = "armature-web";

/// The key of the dependency in an app's `[dependencies]`: the name the
/// performance guide's lines (`armature-core = { ..., features = [...] }`) use.
pub const CORE_KEY: &str = "armature-core";

/// The dependency line a registry user writes, for messages and docs.
pub fn registry_dependency_line() -> String {
    format!("{CORE_KEY} = {{ package = \"{CORE_PACKAGE}\", version = \"{CORE_VERSION}\" }}")
}

/// Where the generated app gets armature-core from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreSource {
    /// A directory holding armature-core's `Cargo.toml` (absolute path).
    Path {
        /// The directory.
        dir: PathBuf,
        /// Whether it is the checkout this binary was built from.
        bundled: bool,
    },
    /// A version requirement on crates.io.
    Version(String),
    /// A git repository, optionally one branch.
    Git {
        /// Repository URL.
        url: String,
        /// Branch; the default branch when `None`.
        branch: Option<String>,
    },
}

impl CoreSource {
    /// The armature-core directory of the checkout this binary was built from,
    /// if it still exists.
    ///
    /// A checkout is recognised by its layout: this crate's parent is a workspace
    /// root holding `templates/` and an `armature-core/` package. An install from
    /// a registry builds in `~/.cargo/registry/src/.../cargo-armature-X.Y.Z`,
    /// where none of that exists, and so gets [`Self::Version`].
    pub fn bundled_dir() -> Option<PathBuf> {
        Self::checkout_core(Path::new(env!("CARGO_MANIFEST_DIR")))
    }

    /// The armature-core of the workspace that `crate_dir` (a cargo-armature
    /// package directory) lies in, if it is an Armature checkout.
    pub fn checkout_core(crate_dir: &Path) -> Option<PathBuf> {
        let root = crate_dir.parent()?;
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).ok()?;
        let doc: DocumentMut = manifest.parse().ok()?;
        if !doc.contains_key("workspace") || !root.join("templates").is_dir() {
            return None;
        }
        let dir = root.join("armature-core").canonicalize().ok()?;
        dir.join("Cargo.toml").is_file().then_some(dir)
    }

    /// The default: the bundled checkout when present (builds offline), else
    /// this binary's own version from crates.io.
    pub fn default_source() -> Self {
        match Self::bundled_dir() {
            Some(dir) => Self::Path { dir, bundled: true },
            None => Self::Version(CORE_VERSION.to_owned()),
        }
    }

    /// Where it comes from, in words, for the README and the summary.
    pub fn describe(&self) -> String {
        match self {
            Self::Path { dir, bundled: true } => format!(
                "the Armature checkout that cargo-armature was built from ({})",
                dir.display()
            ),
            Self::Path {
                dir,
                bundled: false,
            } => format!("the local directory {}", dir.display()),
            Self::Version(v) => format!("crates.io (version {v})"),
            Self::Git {
                url,
                branch: Some(b),
            } => format!("git: {url}, branch {b}"),
            Self::Git { url, branch: None } => format!("git: {url}"),
        }
    }

    /// The command that installs cargo-armature where this app is built by CI
    /// or Docker.
    pub fn cli_install(&self) -> String {
        match self {
            Self::Git { url, branch } => {
                let branch = branch
                    .as_ref()
                    .map(|b| format!(" --branch {b}"))
                    .unwrap_or_default();
                format!("cargo install --locked --git {url}{branch} cargo-armature")
            }
            // Pinned, so that a later release cannot change how an old app builds.
            _ => format!("cargo install --locked --version ={CORE_VERSION} cargo-armature"),
        }
    }

    /// The command that installs cargo-armature on this machine: from the
    /// bundled checkout when that is the source, else as [`Self::cli_install`].
    pub fn cli_install_here(&self) -> String {
        match self {
            Self::Path { dir, bundled: true } => match dir.parent() {
                Some(checkout) => format!(
                    "cargo install --path {}",
                    checkout.join("cargo-armature").display()
                ),
                None => self.cli_install(),
            },
            _ => self.cli_install(),
        }
    }

    /// `{ package = "armature-web", <where> }`: the key stays `armature-core`.
    fn dependency(&self) -> Item {
        let mut t = InlineTable::new();
        t.insert("package", CORE_PACKAGE.into());
        match self {
            Self::Version(v) => {
                t.insert("version", v.as_str().into());
            }
            Self::Path { dir, .. } => {
                t.insert("path", dir.to_string_lossy().as_ref().into());
            }
            Self::Git { url, branch } => {
                t.insert("git", url.as_str().into());
                if let Some(b) = branch {
                    t.insert("branch", b.as_str().into());
                }
            }
        }
        value(t)
    }

    fn comment(&self) -> String {
        let alternative = match self {
            Self::Version(_) => format!(
                "a checkout: `{CORE_KEY} = {{ package = \"{CORE_PACKAGE}\", path = \"../armature/armature-core\" }}`"
            ),
            _ => format!("the release on crates.io: `{}`", registry_dependency_line()),
        };
        format!(
            "# armature-core comes from {}, published as the package\n\
             # `{CORE_PACKAGE}` (the crates.io `armature-core` is another project).\n\
             # To use {alternative}.\n",
            self.describe()
        )
    }
}

/// Builds the app's `Cargo.toml`: the template's `manifest.toml`, with the
/// database layer's `manifest.toml` merged in (its dependencies added), and the
/// package name, armature-core and the Armature profiles filled in.
///
/// `outer_workspace` is the root of a workspace the app would otherwise fall
/// into; the app then gets an empty `[workspace]` so it builds on its own.
pub fn cargo_toml(
    template: TemplateName,
    db: Option<Database>,
    name: &str,
    core: &CoreSource,
    outer_workspace: Option<&Path>,
) -> Result<String> {
    let mut doc: DocumentMut = template::base_manifest(template).parse().with_context(|| {
        format!(
            "templates/{}/{} is not valid TOML",
            template.dir(),
            template::MANIFEST_FILE
        )
    })?;

    if let Some(db) = db {
        let text = template::layer_manifest(db.dir()).with_context(|| {
            format!("templates/{} has no {}", db.dir(), template::MANIFEST_FILE)
        })?;
        let layer: DocumentMut = text.parse().with_context(|| {
            format!(
                "templates/{}/{} is not valid TOML",
                db.dir(),
                template::MANIFEST_FILE
            )
        })?;
        merge(&mut doc, layer)?;
    }

    let command = match db {
        Some(db) => format!("--template {} --db {}", template.dir(), db.name()),
        None => format!("--template {}", template.dir()),
    };
    let package = table_mut(&mut doc, "package")?;
    package.decor_mut().set_prefix(format!(
        "# {name}: created by `cargo armature new {command}`.\n"
    ));
    put_first(package, "name", value(name));

    if let Some(bins) = doc.get_mut("bin").and_then(Item::as_array_of_tables_mut) {
        for bin in bins.iter_mut().filter(|b| !b.contains_key("name")) {
            put_first(bin, "name", value(name));
        }
    }

    let deps = table_mut(&mut doc, "dependencies")?;
    put_first(deps, CORE_KEY, core.dependency());
    deps.key_mut(CORE_KEY)
        .expect("just inserted")
        .leaf_decor_mut()
        .set_prefix(core.comment());
    if !deps.contains_key("tracing-subscriber") {
        deps.insert("tracing-subscriber", log_subscriber_dependency());
        deps.key_mut("tracing-subscriber")
            .expect("just inserted")
            .leaf_decor_mut()
            .set_prefix("# The log subscriber `src/main.rs` installs (the request log).\n");
    }

    profiles::add_missing(&mut doc)?;

    if let Some(root) = outer_workspace {
        let mut ws = Table::new();
        ws.set_position(profiles::max_position(doc.as_table()).map_or(0, |p| p + 1));
        ws.decor_mut().set_prefix(format!(
            "\n# This app is its own workspace: it was created inside the workspace at\n\
             # {}. To make it a member there instead, delete this table and add the\n\
             # app to that workspace's `members`.\n",
            root.display()
        ));
        doc.insert("workspace", Item::Table(ws));
    }
    Ok(doc.to_string())
}

/// `tracing-subscriber` as every app's `src/main.rs` uses it: the version and
/// features the workspace's lock carries, so the app still builds offline.
fn log_subscriber_dependency() -> Item {
    let mut t = InlineTable::new();
    t.insert("version", "0.3".into());
    t.insert("default-features", false.into());
    let mut features = toml_edit::Array::new();
    features.push("fmt");
    features.push("std");
    t.insert("features", toml_edit::Value::Array(features));
    value(t)
}

/// The app's first `Cargo.lock`: the workspace's, which cargo trims to what
/// the app uses on its first build.
pub fn cargo_lock() -> &'static str {
    template::WORKSPACE_LOCK
}

/// Adds the keys of each table of `layer` (`[dependencies]`, ...) to the same
/// table of `doc`, creating it when missing; a key already there is an error in
/// the templates.
fn merge(doc: &mut DocumentMut, layer: DocumentMut) -> Result<()> {
    for (name, item) in layer.iter() {
        let Some(from) = item.as_table() else {
            anyhow::bail!("a database layer's manifest holds only tables; `{name}` is not one");
        };
        let into = doc
            .entry(name)
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_mut()
            .with_context(|| format!("`{name}` of the template's manifest is not a table"))?;
        for (key, value) in from.iter() {
            anyhow::ensure!(
                !into.contains_key(key),
                "`{name}.{key}` is in both the template's and the database layer's manifest"
            );
            into.insert(key, value.clone());
        }
    }
    Ok(())
}

fn table_mut<'a>(doc: &'a mut DocumentMut, key: &str) -> Result<&'a mut Table> {
    doc.get_mut(key)
        .and_then(Item::as_table_mut)
        .with_context(|| format!("the template's manifest has no [{key}] table"))
}

/// Inserts `key = item` and moves it before the table's other keys.
fn put_first(table: &mut Table, key: &str, item: Item) {
    table.insert(key, item);
    table.sort_values_by(|a, _, b, _| (a.get() != key).cmp(&(b.get() != key)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> DocumentMut {
        text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn manifest_has_name_core_profiles_and_bench() {
        let core = CoreSource::Version("0.1".into());
        let text = cargo_toml(
            TemplateName::Api,
            Some(Database::Sqlite),
            "shop",
            &core,
            None,
        )
        .unwrap();
        let doc = parse(&text);
        assert_eq!(doc["package"]["name"].as_str(), Some("shop"));
        assert_eq!(
            doc["package"].as_table().unwrap().iter().next().unwrap().0,
            "name"
        );
        assert_eq!(doc["bin"][0]["name"].as_str(), Some("shop"));
        let core = &doc["dependencies"]["armature-core"];
        assert_eq!(core["package"].as_str(), Some("armature-web"));
        assert_eq!(core["version"].as_str(), Some("0.1"));
        assert!(doc["dependencies"]["serde"].is_inline_table());
        assert!(doc["dependencies"]["rusqlite"].is_inline_table());
        assert!(doc["dependencies"].get("tokio-postgres").is_none());
        assert!(profiles::has_all(&doc));
        assert!(text.starts_with(
            "# shop: created by `cargo armature new --template api --db sqlite`.\n[package]\nname = \"shop\""
        ));
        assert!(text.contains(
            "# armature-core comes from crates.io (version 0.1), published as the package\n\
             # `armature-web` (the crates.io `armature-core` is another project).\n"
        ));
        assert!(
            !text.contains("toml_edit"),
            "template comment leaked:\n{text}"
        );
        assert!(doc.get("workspace").is_none());
    }

    #[test]
    fn path_and_git_sources() {
        let path = CoreSource::Path {
            dir: "/src/armature/armature-core".into(),
            bundled: false,
        };
        let doc = parse(&cargo_toml(TemplateName::Minimal, None, "a", &path, None).unwrap());
        assert_eq!(
            doc["dependencies"]["armature-core"]["path"].as_str(),
            Some("/src/armature/armature-core")
        );
        assert_eq!(
            doc["dependencies"]["armature-core"]["package"].as_str(),
            Some("armature-web")
        );

        let git = CoreSource::Git {
            url: "https://example.com/a.git".into(),
            branch: Some("dev".into()),
        };
        let doc = parse(&cargo_toml(TemplateName::Minimal, None, "a", &git, None).unwrap());
        assert_eq!(
            doc["dependencies"]["armature-core"]["git"].as_str(),
            Some("https://example.com/a.git")
        );
        assert_eq!(
            doc["dependencies"]["armature-core"]["branch"].as_str(),
            Some("dev")
        );
        assert!(git
            .cli_install()
            .contains("--git https://example.com/a.git --branch dev"));
    }

    #[test]
    fn inside_a_workspace_the_app_is_its_own() {
        let core = CoreSource::Version("0.1".into());
        let text = cargo_toml(
            TemplateName::Minimal,
            None,
            "a",
            &core,
            Some(Path::new("/w")),
        )
        .unwrap();
        let doc = parse(&text);
        assert!(doc["workspace"].is_table());
        assert!(text.trim_end().ends_with("[workspace]"), "{text}");
    }

    #[test]
    fn bundled_checkout_is_found_from_this_repository() {
        // This test runs from the checkout, so the bundled core exists.
        let CoreSource::Path { dir, bundled: true } = CoreSource::default_source() else {
            panic!("expected the bundled checkout");
        };
        assert!(dir.join("Cargo.toml").is_file());
    }

    #[test]
    fn seed_lock_knows_the_core() {
        assert!(cargo_lock().contains(&format!("name = \"{CORE_PACKAGE}\"")));
    }
}
