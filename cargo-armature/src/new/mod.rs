//! `cargo armature new`: renders a template into a new app that builds and runs
//! offline at once.

pub mod fetch;
pub mod manifest;
pub mod name;
pub mod template;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::io::Write as _;

use anyhow::{Context, Result};
use clap::Args;

use crate::error::usage;
use manifest::CoreSource;
use template::{Ci, Database, TemplateName, Vars};

/// Port a generated app listens on unless `PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 8080;
/// Graceful-shutdown drain timeout of a generated app, in seconds.
pub const DRAIN_TIMEOUT_SECS: u64 = 10;
/// Kubernetes `terminationGracePeriodSeconds` of a generated app: the drain
/// timeout plus time for the endpoint to leave the load balancer.
pub const TERMINATION_GRACE_SECS: u64 = DRAIN_TIMEOUT_SECS + 20;
/// Where `cargo armature pgo` leaves the optimised binary, relative to the app
/// (`{name}` is replaced with the binary's name).
pub const PGO_BINARY: &str = "target/armature-pgo/bin/{name}";

/// The help's closing text: examples, and where armature-core comes from by
/// default for this very binary.
fn after_help() -> String {
    let this = match CoreSource::bundled_dir() {
        Some(_) => "This cargo-armature was built from an Armature checkout that still exists, \
                    so by default the app depends on that checkout's armature-core (a path \
                    dependency: it builds offline at once)."
            .to_owned(),
        None => format!(
            "This cargo-armature was installed from a registry, so by default the app \
             depends on `{}` from crates.io (its own version), fetched and checked before \
             anything is written.",
            manifest::registry_dependency_line()
        ),
    };
    format!(
        "Examples:
  cargo armature new my-app
  cargo armature new shop --template api --ci gitlab
  cargo armature new shop --template api --db postgres
  cargo armature new svc --path services/svc --no-git
  cargo armature new svc --core-version {v}         armature-core from crates.io
  cargo armature new svc --core-path ../armature/armature-core
  cargo armature new svc --core-git https://github.com/armature-rs/armature --core-branch main

Where armature-core comes from: --core-path, --core-version or --core-git when given; \
else the checkout cargo-armature was built from while it exists; else crates.io at \
cargo-armature's own version. It is published as the package `{p}` (the crates.io \
`armature-core` is an unrelated project), so the app's line is \
`armature-core = {{ package = \"{p}\", ... }}` and its code says `use armature_core::...`. \
{this} The app's README and the comment above armature-core in its Cargo.toml say which \
was chosen and how to change it.",
        v = manifest::CORE_VERSION,
        p = manifest::CORE_PACKAGE,
    )
}

/// Arguments of `cargo armature new`.
#[derive(Debug, Args)]
#[command(after_help = after_help())]
pub struct NewArgs {
    /// Package name of the app; also its directory unless --path is given
    pub name: String,

    /// Template to render
    #[arg(long, short, value_enum, default_value_t = TemplateName::Minimal)]
    pub template: TemplateName,

    /// Where the api template keeps its data [default: sqlite]
    #[arg(long, value_enum, value_name = "DB")]
    pub db: Option<Database>,

    /// Directory to create the app in [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// CI configuration to generate
    #[arg(long, value_enum, default_value_t = Ci::Github)]
    pub ci: Ci,

    /// Do not create a git repository
    #[arg(long)]
    pub no_git: bool,

    /// Write into an existing non-empty directory, replacing only the files the
    /// template generates (nothing is deleted)
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub core: CoreArgs,
}

/// Where the app's armature-core comes from (at most one of path, version, git).
#[derive(Debug, Args)]
pub struct CoreArgs {
    /// Depend on the armature-core in this directory
    #[arg(long, value_name = "DIR", group = "core_source")]
    pub core_path: Option<PathBuf>,

    /// Depend on this armature-core version from crates.io (the package armature-web), e.g. 0.1
    #[arg(long, value_name = "VERSION", group = "core_source")]
    pub core_version: Option<String>,

    /// Depend on armature-core from this git repository
    #[arg(long, value_name = "URL", group = "core_source")]
    pub core_git: Option<String>,

    /// Branch of --core-git
    #[arg(long, value_name = "BRANCH", requires = "core_git")]
    pub core_branch: Option<String>,
}

impl CoreArgs {
    /// Whether none of the source flags was given.
    pub fn is_default(&self) -> bool {
        self.core_path.is_none() && self.core_version.is_none() && self.core_git.is_none()
    }

    /// The source these flags ask for, or the default.
    pub fn source(&self) -> Result<CoreSource> {
        if let Some(dir) = &self.core_path {
            let dir = write::absolute(dir)?;
            if !dir.join("Cargo.toml").is_file() {
                return Err(usage(format!(
                    "--core-path {}: no Cargo.toml there; point it at the armature-core directory of a checkout",
                    dir.display()
                )));
            }
            let bundled = CoreSource::bundled_dir().is_some_and(|b| b == dir);
            return Ok(CoreSource::Path { dir, bundled });
        }
        if let Some(v) = &self.core_version {
            return Ok(CoreSource::Version(v.clone()));
        }
        if let Some(url) = &self.core_git {
            return Ok(CoreSource::Git {
                url: url.clone(),
                branch: self.core_branch.clone(),
            });
        }
        Ok(CoreSource::default_source())
    }
}

/// A project ready to be written: what and where.
#[derive(Debug)]
pub struct ProjectPlan {
    /// Absolute target directory.
    pub target: PathBuf,
    /// Files relative to `target`, with their contents.
    pub files: BTreeMap<PathBuf, Vec<u8>>,
    /// Where armature-core comes from.
    pub core: CoreSource,
    /// Whether to create a git repository.
    pub git_init: bool,
    /// Whether armature-core must be fetched (and its lock resolved) before
    /// anything is written: true for the registry default.
    pub fetch_core: bool,
}

impl NewArgs {
    /// The database of the app: `--db` (sqlite by default) for `api`, none for
    /// `minimal`, which keeps no data.
    pub fn database(&self) -> Result<Option<Database>> {
        match (self.template, self.db) {
            (TemplateName::Api, db) => Ok(Some(db.unwrap_or(Database::Sqlite))),
            (TemplateName::Minimal, None) => Ok(None),
            (TemplateName::Minimal, Some(db)) => Err(usage(format!(
                "--db {} needs --template api: the minimal template keeps no data",
                db.name()
            ))),
        }
    }
}

/// Validates `args` and renders every file in memory; writes nothing.
pub fn plan(args: &NewArgs) -> Result<ProjectPlan> {
    name::validate(&args.name).map_err(usage)?;
    let db = args.database()?;
    let target = write::absolute(args.path.as_deref().unwrap_or(Path::new(&args.name)))?;
    let core = args.core.source()?;
    let fetch_core = args.core.is_default() && matches!(core, CoreSource::Version(_));

    let vars = Vars {
        name: args.name.clone(),
        crate_name: name::crate_name(&args.name),
        kebab_name: name::kebab_name(&args.name),
        template: args.template.dir(),
        db: db.map_or("", Database::name),
        sqlite: db == Some(Database::Sqlite),
        postgres: db == Some(Database::Postgres),
        db_default_url: db.map_or_else(String::new, |d| d.default_url(&args.name)),
        db_example_url: db.map_or_else(String::new, |d| d.example_url(&args.name)),
        core_source: core.describe(),
        core_is_path: matches!(core, CoreSource::Path { .. }),
        core_version: manifest::CORE_VERSION,
        cli_install: core.cli_install(),
        cli_install_here: core.cli_install_here(),
        pgo_binary: PGO_BINARY.replace("{name}", &args.name),
        port: DEFAULT_PORT,
        drain_timeout_secs: DRAIN_TIMEOUT_SECS,
        termination_grace_secs: TERMINATION_GRACE_SECS,
    };
    let mut files = template::render(args.template, db, args.ci, &vars)?;
    let outer = outer_workspace(&target);
    let cargo_toml = manifest::cargo_toml(args.template, db, &args.name, &core, outer.as_deref())?;
    files.insert("Cargo.toml".into(), cargo_toml.into_bytes());
    files.insert(
        "Cargo.lock".into(),
        manifest::cargo_lock().as_bytes().to_vec(),
    );

    write::check_target(&target, &files, args.force)?;
    let git_init = !args.no_git && !write::inside_git_repository(&target);
    Ok(ProjectPlan {
        target,
        files,
        core,
        git_init,
        fetch_core,
    })
}

/// Runs `cargo armature new`.
pub fn run(args: NewArgs) -> Result<()> {
    let mut plan = plan(&args)?;
    if plan.fetch_core {
        let what = format!("armature-core from {}", plan.core.describe());
        let lock = fetch::resolve(&plan.target, &plan.files, &what)?;
        plan.files.insert("Cargo.lock".into(), lock);
    }
    let git = write::write_project(&plan.target, &plan.files, plan.git_init)
        .with_context(|| format!("nothing was written to {}", plan.target.display()))?;

    let shown = display_path(&plan.target);
    let db = match args.database()? {
        Some(db) => format!(", {}", db.name()),
        None => String::new(),
    };
    writeln!(
        std::io::stdout(),
        "Created `{}` ({} template{db}, {} files) in {shown}",
        args.name,
        args.template.dir(),
        plan.files.len()
    )?;
    writeln!(
        std::io::stdout(),
        "  armature-core: {}",
        plan.core.describe()
    )?;
    let git_note = match git {
        write::Git::Initialized => "created a repository",
        write::Git::Skipped if args.no_git => "skipped (--no-git)",
        write::Git::Skipped => "inside an existing repository, none created",
        write::Git::NotInstalled => "git is not installed; no repository created",
    };
    writeln!(std::io::stdout(), "  git: {git_note}")?;
    writeln!(
        std::io::stdout(),
        "Next:\n  cd {shown}\n  cargo test\n  cargo run --release\n  cargo armature build --fat"
    )?;
    Ok(())
}

/// The root of a workspace that `target` would fall into, if any.
fn outer_workspace(target: &Path) -> Option<PathBuf> {
    target.ancestors().skip(1).find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        let doc: toml_edit::DocumentMut = text.parse().ok()?;
        doc.contains_key("workspace").then(|| dir.to_path_buf())
    })
}

/// `target` relative to the current directory when below it, else absolute.
fn display_path(target: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| target.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| target.display().to_string(), |p| p.display().to_string())
}
