//! Mapping a request path onto the file system without leaving the root: `..`
//! (plain or percent-encoded), empty segments (`//etc/passwd`), absolute or
//! prefixed components, and symlinks that lead outside are all refused.

use std::io;
use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;

use crate::middleware::compression::Coding;

/// A request path mapped under the root.
#[derive(Debug, PartialEq)]
pub(super) struct Relative {
    pub path: PathBuf,
    /// It ended with `/` (or was empty): it names a directory, and a file there is
    /// not found.
    pub dir: bool,
}

/// The relative path a request names under the root, checked segment by segment;
/// `None` for anything that could step outside. A trailing `/` (or nothing at all)
/// names a directory.
pub(super) fn relative(raw: &str) -> Option<Relative> {
    let decoded = percent_decode_str(raw).decode_utf8().ok()?;
    if decoded.contains(['\0', '\\']) {
        return None;
    }
    let mut out = PathBuf::new();
    let mut segments = decoded.split('/').peekable();
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        match seg {
            // `a/` names the directory `a`; an empty segment elsewhere (a leading or
            // doubled slash) would make the path absolute.
            "" if last => {}
            "" | "." | ".." => return None,
            seg => {
                // Exactly one plain component (no root, drive or prefix).
                let mut comps = Path::new(seg).components();
                match (comps.next(), comps.next()) {
                    (Some(Component::Normal(c)), None) => out.push(c),
                    _ => return None,
                }
            }
        }
    }
    Some(Relative {
        path: out,
        dir: decoded.is_empty() || decoded.ends_with('/'),
    })
}

/// An opened file and what is known of it.
pub(super) struct Opened {
    pub file: std::fs::File,
    pub meta: std::fs::Metadata,
    /// The file's real path (its extension names the content type).
    pub path: PathBuf,
    /// Set when `file` is the precompressed sibling of `path` (`app.js.br` for
    /// `app.js`) in this coding.
    pub coding: Option<Coding>,
}

/// Opens `root/rel` (with `index` inside a directory) if, once every symlink is
/// resolved, it is a regular file inside the root; `rel` naming a directory (a
/// trailing `/`) must be one. Blocking (it resolves the path): run it off the worker.
/// With `codings` (the request's acceptable ones, best first), a precompressed
/// sibling is opened in its place when there is one.
pub(super) fn open_under(
    root: &Path,
    rel: &Relative,
    index: Option<&str>,
    codings: [Option<Coding>; 2],
) -> io::Result<Opened> {
    let root = root.canonicalize()?;
    let mut path = root.join(&rel.path).canonicalize()?;
    if !path.starts_with(&root) {
        return Err(outside());
    }
    if path.is_dir() {
        let index = index.ok_or_else(not_found)?;
        path = path.join(index).canonicalize()?;
        if !path.starts_with(&root) {
            return Err(outside());
        }
    } else if rel.dir {
        // `a.txt/`: a file is not a directory.
        return Err(not_found());
    }
    // Every symlink is resolved: the last component is not one, unless it was swapped
    // in since, which must not be followed out of the root.
    let opened = open_regular(path, libc::O_NOFOLLOW)?;
    // A sibling is a plain file beside it: one that is a symlink is not followed.
    Ok(precompressed(opened, codings, libc::O_NOFOLLOW))
}

/// Opens a regular file (following symlinks), or its precompressed sibling.
pub(super) fn open_file(path: PathBuf, codings: [Option<Coding>; 2]) -> io::Result<Opened> {
    let opened = open_regular(path, 0)?;
    Ok(precompressed(opened, codings, 0))
}

/// The first of `codings` (best first) whose sibling of the opened file
/// (`app.js.br`, `app.js.gz`) is a regular file, opened in its place; the file
/// itself when none is.
fn precompressed(opened: Opened, codings: [Option<Coding>; 2], flags: libc::c_int) -> Opened {
    for coding in codings.into_iter().flatten() {
        let mut name = opened.path.clone().into_os_string();
        name.push(".");
        name.push(coding.extension());
        if let Ok(sibling) = open_regular(PathBuf::from(name), flags) {
            return Opened {
                path: opened.path,
                coding: Some(coding),
                ..sibling
            };
        }
    }
    opened
}

/// Opens `path` if it is a regular file. `O_NONBLOCK`, so that opening a FIFO (which
/// waits for a writer) or a device returns at once; its type, read from the open
/// descriptor, is then refused. On a regular file the flag changes nothing.
fn open_regular(path: PathBuf, flags: libc::c_int) -> io::Result<Opened> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | flags)
        .open(&path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_found());
    }
    Ok(Opened {
        file,
        meta,
        path,
        coding: None,
    })
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

fn outside() -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, "outside the served root")
}

#[cfg(test)]
mod tests {
    use super::{relative, Relative};
    use std::path::PathBuf;

    #[test]
    fn request_paths_map_inside_the_root_or_not_at_all() {
        let table: &[(&str, Option<(&str, bool)>)] = &[
            ("a.txt", Some(("a.txt", false))),
            ("css/site.css", Some(("css/site.css", false))),
            ("dir/", Some(("dir", true))),
            ("a.txt/", Some(("a.txt", true))),
            ("a.txt%2f", Some(("a.txt", true))),
            ("", Some(("", true))),
            ("with%20space.txt", Some(("with space.txt", false))),
            ("%E2%9C%93.txt", Some(("✓.txt", false))),
            ("../Cargo.toml", None),
            ("a/../../b", None),
            ("%2e%2e/secret", None),
            ("%2E%2E%2Fsecret", None),
            ("a%2f..%2f..%2fb", None),
            ("./a", None),
            ("/etc/passwd", None),
            ("a//b", None),
            ("a\\..\\b", None),
            ("a%5c..%5cb", None),
            ("a%00b", None),
            ("%ff", None),
        ];
        for (raw, want) in table {
            let want = want.map(|(path, dir)| Relative {
                path: PathBuf::from(path),
                dir,
            });
            assert_eq!(relative(raw), want, "{raw:?}");
        }
    }
}
