//! The project templates, embedded in the binary at build time, and rendering
//! them (handlebars, strict mode) into the files of a new app.
//!
//! `templates/` holds layers that are stacked in this order, a later layer's
//! file replacing an earlier one at the same path:
//!
//! 1. `common/`: what every app gets (main.rs, README, deploy/, aliases, ...);
//! 2. `<template>/`: the template's own files and its `manifest.toml`, the
//!    base of the generated `Cargo.toml` (edited with toml_edit, not rendered);
//! 3. `db/<database>/`: for the `api` template, the storage (`--db`): its
//!    database module, migrations and deploy files, and a `manifest.toml`
//!    whose tables are merged into the template's;
//! 4. `ci/<provider>/`: the CI configuration, unless `--ci none`.
//!
//! A file ending in `.hbs` is rendered and loses the suffix; other files are
//! copied as they are. A path component `dot-x` becomes `.x` (so that the
//! templates' own `.gitignore` or `.cargo/` do not act on this repository).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use handlebars::Handlebars;
use include_dir::{include_dir, Dir, DirEntry};
use serde::Serialize;

/// The templates. `cargo-armature/templates` is a symlink to the workspace's
/// top-level `templates/` (the one source, where the layout puts it); `cargo
/// package` follows it, so the published crate carries a real copy.
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The Armature workspace's `Cargo.lock` when this binary was built: a new app
/// starts from it, so it resolves to crate versions already in the local
/// registry cache and builds offline. `cargo-armature/seed.lock` is a symlink
/// to the workspace's `Cargo.lock`, packaged as a copy like the templates.
pub static WORKSPACE_LOCK: &str = include_str!("../../seed.lock");

/// Name of the file in a template folder that the generated `Cargo.toml` starts from.
pub const MANIFEST_FILE: &str = "manifest.toml";

/// Which template to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TemplateName {
    /// `GET /` and `GET /health`: the smallest app, with tests and a bench
    Minimal,
    /// A JSON CRUD service persisted in SQLite or PostgreSQL (--db), with migrations, JSON errors and a test per route
    Api,
}

impl TemplateName {
    /// The template's folder under `templates/`.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Api => "api",
        }
    }
}

/// Where the `api` template keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Database {
    /// An embedded SQLite file (one replica, a volume for the data)
    Sqlite,
    /// A PostgreSQL server (`DATABASE_URL`), to scale out
    Postgres,
}

impl Database {
    /// Its layer under `templates/`.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Sqlite => "db/sqlite",
            Self::Postgres => "db/postgres",
        }
    }

    /// The app's `DATABASE_URL` when none is set: a file under `data/` for
    /// SQLite; none (empty) for PostgreSQL, which needs a server.
    pub fn default_url(self, app: &str) -> String {
        match self {
            Self::Sqlite => format!("sqlite://data/{app}.db"),
            Self::Postgres => String::new(),
        }
    }

    /// A `DATABASE_URL` for the README and examples.
    pub fn example_url(self, app: &str) -> String {
        match self {
            Self::Sqlite => format!("sqlite:///var/lib/{app}/{app}.db"),
            Self::Postgres => format!("postgres://{app}:PASSWORD@db.example.com:5432/{app}"),
        }
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Which CI configuration to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Ci {
    /// `.github/workflows/ci.yml`
    Github,
    /// `.gitlab-ci.yml`
    Gitlab,
    /// No CI files
    None,
}

impl Ci {
    fn dir(self) -> Option<&'static str> {
        match self {
            Self::Github => Some("ci/github"),
            Self::Gitlab => Some("ci/gitlab"),
            Self::None => None,
        }
    }
}

/// The values the templates can use. Strict mode makes any other name an error.
#[derive(Debug, Clone, Serialize)]
pub struct Vars {
    /// Package name, e.g. `my-app`.
    pub name: String,
    /// Crate name used in Rust code, e.g. `my_app`.
    pub crate_name: String,
    /// Name for Kubernetes objects and the Docker image, e.g. `my-app`.
    pub kebab_name: String,
    /// The template's name.
    pub template: &'static str,
    /// The `--db` of the `api` template (`sqlite`, `postgres`), else empty.
    pub db: &'static str,
    /// Whether the app keeps its data in SQLite.
    pub sqlite: bool,
    /// Whether the app keeps its data in PostgreSQL.
    pub postgres: bool,
    /// The app's `DATABASE_URL` when none is set (SQLite), else empty.
    pub db_default_url: String,
    /// A valid `DATABASE_URL` for examples and tests, else empty.
    pub db_example_url: String,
    /// Where armature-core comes from, in words.
    pub core_source: String,
    /// Whether armature-core is a local path dependency (CI and Docker cannot see it).
    pub core_is_path: bool,
    /// The armature-core (and cargo-armature) version a registry install uses.
    pub core_version: &'static str,
    /// The shell command that installs cargo-armature (for CI, Docker and the README).
    pub cli_install: String,
    /// The command that installs cargo-armature on this machine (README, aliases).
    pub cli_install_here: String,
    /// Where `cargo armature pgo` leaves the optimised binary, relative to the app.
    pub pgo_binary: String,
    /// The port the app listens on by default.
    pub port: u16,
    /// The app's graceful-shutdown drain timeout.
    pub drain_timeout_secs: u64,
    /// Kubernetes' `terminationGracePeriodSeconds`; longer than the drain timeout.
    pub termination_grace_secs: u64,
}

/// The base manifest (`manifest.toml`) of `template`.
pub fn base_manifest(template: TemplateName) -> &'static str {
    layer_manifest(template.dir())
        .unwrap_or_else(|| panic!("templates/{} has a {MANIFEST_FILE}", template.dir()))
}

/// The `manifest.toml` of the layer in `templates/<layer>`, if it has one.
pub fn layer_manifest(layer: &str) -> Option<&'static str> {
    TEMPLATES
        .get_file(format!("{layer}/{MANIFEST_FILE}"))
        .and_then(|f| f.contents_utf8())
}

/// Renders the files of `template` (with `db`, for `api`) and `ci`, as paths
/// relative to the app root (sorted) and their contents. `Cargo.toml` and
/// `Cargo.lock` are not among them (see [`super::manifest`]).
pub fn render(
    template: TemplateName,
    db: Option<Database>,
    ci: Ci,
    vars: &Vars,
) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut hbs = Handlebars::new();
    hbs.set_strict_mode(true);
    hbs.register_escape_fn(handlebars::no_escape);

    let layers = ["common", template.dir()]
        .into_iter()
        .chain(db.map(Database::dir))
        .chain(ci.dir());
    let mut out = BTreeMap::new();
    for layer in layers {
        let dir = TEMPLATES
            .get_dir(layer)
            .unwrap_or_else(|| panic!("templates/{layer} is embedded"));
        let mut files = Vec::new();
        collect_files(dir, &mut files);
        for file in files {
            let rel = file
                .path()
                .strip_prefix(layer)
                .expect("file lies in its layer");
            if rel == Path::new(MANIFEST_FILE) {
                continue;
            }
            let (dest, contents) = if rel.extension().is_some_and(|e| e == "hbs") {
                let source = file
                    .contents_utf8()
                    .with_context(|| format!("templates/{} is not UTF-8", file.path().display()))?;
                let text = hbs.render_template(source, vars).with_context(|| {
                    format!("cannot render templates/{}", file.path().display())
                })?;
                (rel.with_extension(""), text.into_bytes())
            } else {
                (rel.to_path_buf(), file.contents().to_vec())
            };
            out.insert(output_path(&dest), contents);
        }
    }
    Ok(out)
}

/// Every embedded template file, as a path relative to `templates/` (with `/`
/// separators, sorted) and its contents: what the binary carries, for checking
/// it against the checkout.
pub fn embedded_files() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    collect_files(&TEMPLATES, &mut files);
    let mut out: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|f| {
            let path = f.path().to_string_lossy().replace('\\', "/");
            (path, f.contents().to_vec())
        })
        .collect();
    out.sort();
    out
}

fn collect_files<'a>(dir: &'a Dir<'a>, out: &mut Vec<&'a include_dir::File<'a>>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(d) => collect_files(d, out),
            DirEntry::File(f) => out.push(f),
        }
    }
}

/// `dot-cargo/config.toml` → `.cargo/config.toml`.
fn output_path(rel: &Path) -> PathBuf {
    rel.components()
        .map(|c| {
            let s = c.as_os_str().to_string_lossy();
            match s.strip_prefix("dot-") {
                Some(rest) => format!(".{rest}"),
                None => s.into_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            name: "demo-app".into(),
            crate_name: "demo_app".into(),
            kebab_name: "demo-app".into(),
            template: "minimal",
            db: "",
            sqlite: false,
            postgres: false,
            db_default_url: String::new(),
            db_example_url: String::new(),
            core_source: "crates.io".into(),
            core_is_path: false,
            core_version: "0.1.0",
            cli_install: "cargo install cargo-armature".into(),
            cli_install_here: "cargo install --path /src/armature/cargo-armature".into(),
            pgo_binary: "target/armature-pgo/bin/demo-app".into(),
            port: 8080,
            drain_timeout_secs: 10,
            termination_grace_secs: 30,
        }
    }

    #[test]
    fn every_template_and_ci_renders_in_strict_mode() {
        let kinds = [
            (TemplateName::Minimal, None),
            (TemplateName::Api, Some(Database::Sqlite)),
            (TemplateName::Api, Some(Database::Postgres)),
        ];
        for (template, db) in kinds {
            for ci in [Ci::Github, Ci::Gitlab, Ci::None] {
                let mut vars = vars();
                vars.template = template.dir();
                vars.db = db.map_or("", Database::name);
                vars.sqlite = db == Some(Database::Sqlite);
                vars.postgres = db == Some(Database::Postgres);
                if let Some(db) = db {
                    vars.db_default_url = db.default_url("demo-app");
                    vars.db_example_url = db.example_url("demo-app");
                }
                let files = render(template, db, ci, &vars).unwrap();
                assert!(files.contains_key(Path::new("src/main.rs")));
                assert!(files.contains_key(Path::new("src/lib.rs")));
                assert!(files.contains_key(Path::new(".cargo/config.toml")));
                assert!(files.contains_key(Path::new(".gitignore")));
                assert!(!files.keys().any(|p| p.to_string_lossy().contains("hbs")));
                assert!(!files.contains_key(Path::new(MANIFEST_FILE)));
                assert_eq!(
                    files.contains_key(Path::new(".github/workflows/ci.yml")),
                    ci == Ci::Github
                );
                assert_eq!(
                    files.contains_key(Path::new(".gitlab-ci.yml")),
                    ci == Ci::Gitlab
                );
            }
        }
    }

    #[test]
    fn github_expressions_survive_handlebars() {
        let files = render(TemplateName::Minimal, None, Ci::Github, &vars()).unwrap();
        let ci = String::from_utf8(files[Path::new(".github/workflows/ci.yml")].clone()).unwrap();
        assert!(
            ci.contains("name: demo-app-${{ github.ref_name }}-linux-x86_64"),
            "{ci}"
        );
        assert!(!ci.contains('\\'));
    }

    #[test]
    fn strict_mode_rejects_unknown_variables() {
        let mut hbs = Handlebars::new();
        hbs.set_strict_mode(true);
        assert!(hbs.render_template("{{nope}}", &vars()).is_err());
    }

    #[test]
    fn dot_prefix_is_mapped() {
        assert_eq!(
            output_path(Path::new("dot-cargo/config.toml")),
            Path::new(".cargo/config.toml")
        );
        assert_eq!(
            output_path(Path::new("src/dot-x/y.rs")),
            Path::new("src/.x/y.rs")
        );
    }

    #[test]
    fn every_template_has_a_manifest() {
        for template in [TemplateName::Minimal, TemplateName::Api] {
            let doc: toml_edit::DocumentMut = base_manifest(template).parse().unwrap();
            assert!(doc.contains_key("package"));
        }
        for db in [Database::Sqlite, Database::Postgres] {
            let text = layer_manifest(db.dir()).expect("every database layer has a manifest");
            let doc: toml_edit::DocumentMut = text.parse().unwrap();
            assert!(doc.contains_key("dependencies"));
        }
    }
}
