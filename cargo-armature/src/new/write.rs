//! Writing a new project all-or-nothing: the files are rendered into a staging
//! directory next to the target, then renamed into place. A fresh target is one
//! `rename`; an existing one (`--force`, or empty) gets each file moved in, with
//! the files it replaces kept aside until the end so that a failure puts
//! everything back. Nothing the template does not own is touched or removed.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::error::usage;

/// What happened about git.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Git {
    /// A repository was created in the project.
    Initialized,
    /// Not asked for (`--no-git`, or the project lies inside a repository).
    Skipped,
    /// `git` is not installed; no repository was created.
    NotInstalled,
}

/// Makes `path` absolute (against the current directory) and removes `.` and
/// `..` components without touching the filesystem.
pub fn absolute(path: &Path) -> Result<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .context("cannot read the current directory")?
            .join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Checks, without writing anything, that the files can go to `target`.
pub fn check_target(target: &Path, files: &BTreeMap<PathBuf, Vec<u8>>, force: bool) -> Result<()> {
    if target.parent().is_none() {
        return Err(usage(format!(
            "cannot create a project at {}",
            target.display()
        )));
    }
    // Every existing ancestor must be a directory.
    for ancestor in target.ancestors().skip(1) {
        if ancestor.exists() && !ancestor.is_dir() {
            return Err(usage(format!(
                "{} is a file, so {} cannot be created; choose another --path",
                ancestor.display(),
                target.display()
            )));
        }
    }
    let meta = match std::fs::metadata(target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", target.display())),
    };
    if !meta.is_dir() {
        return Err(usage(format!(
            "{} exists and is not a directory; choose another name or --path",
            target.display()
        )));
    }
    let entries: Vec<String> = std::fs::read_dir(target)
        .with_context(|| format!("cannot read {}", target.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    if !force {
        let mut shown: Vec<&str> = entries.iter().map(String::as_str).take(3).collect();
        shown.sort_unstable();
        let more = if entries.len() > 3 { ", ..." } else { "" };
        return Err(usage(format!(
            "{} already exists and is not empty ({}{more}); choose another name or --path, \
             or pass --force to write the template's {} files into it (other files are kept)",
            target.display(),
            shown.join(", "),
            files.len()
        )));
    }
    for rel in files.keys() {
        let dest = target.join(rel);
        if dest.is_dir() {
            return Err(usage(format!(
                "{} is a directory, but the template writes a file there; move it away first",
                dest.display()
            )));
        }
        for ancestor in dest.ancestors().skip(1) {
            if ancestor == target {
                break;
            }
            if ancestor.exists() && !ancestor.is_dir() {
                return Err(usage(format!(
                    "{} is a file, but the template needs a directory there; move it away first",
                    ancestor.display()
                )));
            }
        }
    }
    Ok(())
}

/// Whether `dir` (or its nearest existing ancestor) lies in a git work tree.
pub fn inside_git_repository(dir: &Path) -> bool {
    dir.ancestors().any(|a| a.join(".git").exists())
}

/// Writes `files` to `target` all-or-nothing (see the module docs) and, when
/// `git_init`, creates a git repository there. Call [`check_target`] first.
pub fn write_project(
    target: &Path,
    files: &BTreeMap<PathBuf, Vec<u8>>,
    git_init: bool,
) -> Result<Git> {
    let parent = target.parent().context("the target has a parent")?;
    let mut created = CreatedDirs::default();
    if let Err(e) = created.create_all(parent) {
        created.remove();
        return Err(usage(format!(
            "cannot create {}: {e}; choose a --path you can write to",
            parent.display()
        )));
    }

    // Stage next to a new target, or inside an existing one (its parent may be
    // read-only, e.g. `--path .`); either way on the same filesystem.
    let staging_parent = if target.is_dir() { target } else { parent };
    let result = stage_and_move(staging_parent, target, files, git_init);
    if result.is_err() {
        created.remove();
    }
    result
}

fn stage_and_move(
    staging_parent: &Path,
    target: &Path,
    files: &BTreeMap<PathBuf, Vec<u8>>,
    git_init: bool,
) -> Result<Git> {
    // Dropping `staging` deletes it: on an error below, and at the end, when a
    // merge left the replaced files in it (a fresh target took its place).
    let staging = tempfile::Builder::new()
        .prefix(".armature-new-")
        .tempdir_in(staging_parent)
        .map_err(|e| {
            usage(format!(
                "cannot write in {}: {e}; choose a --path you can write to",
                staging_parent.display()
            ))
        })?;

    for (rel, contents) in files {
        let path = staging.path().join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }

    let git = if git_init {
        git_init_in(staging.path())?
    } else {
        Git::Skipped
    };

    if target.exists() {
        move_into_existing(staging.path(), target, files, git == Git::Initialized)?;
    } else {
        std::fs::rename(staging.path(), target)
            .with_context(|| format!("cannot move the new project to {}", target.display()))?;
    }
    Ok(git)
}

fn git_init_in(dir: &Path) -> Result<Git> {
    let out = Command::new("git")
        .args(["init", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output();
    match out {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Git::NotInstalled),
        Err(e) => Err(e).context("cannot run `git init`"),
        Ok(out) if !out.status.success() => anyhow::bail!(
            "`git init` failed: {}; pass --no-git to skip it",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Ok(_) => Ok(Git::Initialized),
    }
}

/// Moves the staged files (and `.git` when `with_git`) into the existing
/// `target`; on failure undoes every move, restoring the files it replaced.
fn move_into_existing(
    staging: &Path,
    target: &Path,
    files: &BTreeMap<PathBuf, Vec<u8>>,
    with_git: bool,
) -> Result<()> {
    let backup = staging.join(".armature-replaced");
    let mut done: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    let mut created = CreatedDirs::default();
    let git = Path::new(".git");
    let entries = files
        .keys()
        .map(PathBuf::as_path)
        .chain(with_git.then_some(git));

    let result = (|| -> Result<()> {
        for rel in entries {
            let (from, to) = (staging.join(rel), target.join(rel));
            if let Some(dir) = to.parent() {
                created
                    .create_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let saved = if to.exists() {
                let keep = backup.join(rel);
                std::fs::create_dir_all(keep.parent().expect("has a parent"))?;
                std::fs::rename(&to, &keep)
                    .with_context(|| format!("cannot replace {}", to.display()))?;
                Some(keep)
            } else {
                None
            };
            let moved = std::fs::rename(&from, &to)
                .with_context(|| format!("cannot write {}", to.display()));
            done.push((to, saved));
            moved?;
        }
        Ok(())
    })();

    if result.is_err() {
        for (to, saved) in done.into_iter().rev() {
            match saved {
                Some(keep) => {
                    let _ = std::fs::rename(keep, &to);
                }
                None if to.is_dir() => {
                    let _ = std::fs::remove_dir_all(&to);
                }
                None => {
                    let _ = std::fs::remove_file(&to);
                }
            }
        }
        created.remove();
    }
    result
}

/// Directories created on the way, so that a failure can remove them again.
#[derive(Default)]
struct CreatedDirs(Vec<PathBuf>);

impl CreatedDirs {
    fn create_all(&mut self, dir: &Path) -> io::Result<()> {
        let missing: Vec<&Path> = dir.ancestors().take_while(|a| !a.exists()).collect();
        for d in missing.into_iter().rev() {
            std::fs::create_dir(d)?;
            self.0.push(d.to_path_buf());
        }
        Ok(())
    }

    /// Removes the created directories, deepest first, where they are empty.
    fn remove(&mut self) {
        for d in self.0.drain(..).rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> BTreeMap<PathBuf, Vec<u8>> {
        [("a.txt", "A"), ("src/b.rs", "B")]
            .into_iter()
            .map(|(p, c)| (PathBuf::from(p), c.as_bytes().to_vec()))
            .collect()
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in walk(dir) {
            out.push(e.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
        }
        out.sort();
        out
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn fresh_target_with_missing_parents() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("x/y/app");
        check_target(&target, &files(), false).unwrap();
        assert_eq!(
            write_project(&target, &files(), false).unwrap(),
            Git::Skipped
        );
        assert_eq!(listing(&target), ["a.txt", "src/b.rs"]);
        // No staging directory left next to it.
        assert_eq!(
            std::fs::read_dir(tmp.path().join("x/y")).unwrap().count(),
            1
        );
    }

    #[test]
    fn non_empty_target_needs_force_and_force_keeps_other_files() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("app");
        std::fs::create_dir_all(target.join("src")).unwrap();
        std::fs::write(target.join("a.txt"), "old").unwrap();
        std::fs::write(target.join("mine.txt"), "keep").unwrap();
        let err = check_target(&target, &files(), false).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
        assert!(err.to_string().contains("--force"), "{err}");

        check_target(&target, &files(), true).unwrap();
        write_project(&target, &files(), false).unwrap();
        assert_eq!(listing(&target), ["a.txt", "mine.txt", "src/b.rs"]);
        assert_eq!(std::fs::read_to_string(target.join("a.txt")).unwrap(), "A");
        assert_eq!(
            std::fs::read_to_string(target.join("mine.txt")).unwrap(),
            "keep"
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn force_refuses_a_directory_where_a_file_goes() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a.txt")).unwrap();
        let err = check_target(tmp.path(), &files(), true).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn a_failed_move_restores_what_was_there() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("app");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("a.txt"), "old").unwrap();
        let staging = tmp.path().join("staging");
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(staging.join("a.txt"), "new").unwrap();
        // src/b.rs is missing from staging: its move fails half-way.
        let err = move_into_existing(&staging, &target, &files(), false).unwrap_err();
        assert!(format!("{err:#}").contains("b.rs"), "{err:#}");
        assert_eq!(listing(&target), ["a.txt"]);
        assert_eq!(
            std::fs::read_to_string(target.join("a.txt")).unwrap(),
            "old"
        );
    }

    #[test]
    fn a_file_in_the_path_is_bad_input() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("f"), "").unwrap();
        let err = check_target(&tmp.path().join("f/app"), &files(), false).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), crate::error::USAGE);
    }

    #[test]
    fn absolute_normalises() {
        assert_eq!(
            absolute(Path::new("/a/./b/../c")).unwrap(),
            Path::new("/a/c")
        );
    }
}
