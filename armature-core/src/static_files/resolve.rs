//! Mapping a request path onto the file system without leaving the root: `..`
//! (plain or percent-encoded), empty segments (`//etc/passwd`), absolute or
//! prefixed components, and symlinks that lead outside are all refused.

use std::io;
use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;

/// The relative path a request names under the root, checked segment by segment;
/// `None` for anything that could step outside. A trailing `/` (or nothing at all)
/// names a directory.
pub(super) fn relative(raw: &str) -> Option<PathBuf> {
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
    Some(out)
}

/// An opened file and what is known of it.
pub(super) struct Opened {
    pub file: std::fs::File,
    pub meta: std::fs::Metadata,
    /// The file's real path (its extension names the content type).
    pub path: PathBuf,
}

/// Opens `root/rel` (with `index` inside a directory) if, once every symlink is
/// resolved, it is a regular file inside the root. Blocking: run it off the worker.
pub(super) fn open_under(root: &Path, rel: &Path, index: Option<&str>) -> io::Result<Opened> {
    let root = root.canonicalize()?;
    let mut path = root.join(rel).canonicalize()?;
    if !path.starts_with(&root) {
        return Err(outside());
    }
    if path.is_dir() {
        let index = index.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        path = path.join(index).canonicalize()?;
        if !path.starts_with(&root) {
            return Err(outside());
        }
    }
    open_file(path)
}

/// Opens a regular file (following symlinks).
pub(super) fn open_file(path: PathBuf) -> io::Result<Opened> {
    let file = std::fs::File::open(&path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    }
    Ok(Opened { file, meta, path })
}

fn outside() -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, "outside the served root")
}

#[cfg(test)]
mod tests {
    use super::relative;
    use std::path::PathBuf;

    #[test]
    fn request_paths_map_inside_the_root_or_not_at_all() {
        let table: &[(&str, Option<&str>)] = &[
            ("a.txt", Some("a.txt")),
            ("css/site.css", Some("css/site.css")),
            ("dir/", Some("dir")),
            ("", Some("")),
            ("with%20space.txt", Some("with space.txt")),
            ("%E2%9C%93.txt", Some("✓.txt")),
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
            assert_eq!(relative(raw), want.map(PathBuf::from), "{raw:?}");
        }
    }
}
