//! Package-name validation for `cargo armature new`: the rules cargo applies,
//! plus names that would clash with the app's own dependencies.

/// Rust keywords (all editions, reserved ones included); not usable as crate names.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names cargo refuses or that break the build: the standard crates, the test
/// harness, cargo's own artifact directories, Windows device names.
const RESERVED: &[&str] = &[
    "alloc",
    "core",
    "proc_macro",
    "std",
    "test",
    "deps",
    "examples",
    "build",
    "incremental",
    "con",
    "prn",
    "aux",
    "nul",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
];

/// Crates the generated app depends on; an app with one of these names cannot build.
const DEPENDENCIES: &[&str] = &[
    "armature_core",
    "armature_web",
    "serde",
    "serde_json",
    "criterion",
];

/// Longest name crates.io accepts.
const MAX_LEN: usize = 64;

/// Checks that `name` can be the package name of a generated app.
///
/// On failure, the message says why and what to do instead.
///
/// ```
/// use cargo_armature::new::name::validate;
/// assert!(validate("my-app").is_ok());
/// assert!(validate("1app").unwrap_err().contains("digit"));
/// ```
pub fn validate(name: &str) -> Result<(), String> {
    let fix = "package names use ASCII letters, digits, `-` and `_`, and start with a letter, e.g. `my-app`";
    if name.is_empty() {
        return Err(format!("the name is empty; {fix}"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "`{name}` contains {bad:?}, which is not allowed; {fix}"
        ));
    }
    let first = name.chars().next().expect("not empty");
    if first.is_ascii_digit() {
        return Err(format!("`{name}` starts with a digit; {fix}"));
    }
    if !first.is_ascii_alphabetic() {
        return Err(format!("`{name}` starts with {first:?}; {fix}"));
    }
    if name.len() > MAX_LEN {
        return Err(format!(
            "`{name}` is longer than {MAX_LEN} characters; choose a shorter name"
        ));
    }
    let crate_name = name.replace('-', "_");
    let lower = crate_name.to_ascii_lowercase();
    if KEYWORDS.contains(&crate_name.as_str()) || crate_name == "Self" {
        return Err(format!(
            "`{name}` is a Rust keyword; choose another name, e.g. `{name}-app`"
        ));
    }
    if RESERVED.contains(&lower.as_str()) {
        return Err(format!(
            "`{name}` is a reserved name in cargo; choose another name, e.g. `{name}-app`"
        ));
    }
    if DEPENDENCIES.contains(&lower.as_str()) {
        return Err(format!(
            "`{name}` is the name of a crate the app depends on; choose another name, e.g. `{name}-app`"
        ));
    }
    Ok(())
}

/// The crate name Rust code uses for package `name` (`my-app` → `my_app`).
pub fn crate_name(name: &str) -> String {
    name.replace('-', "_")
}

/// A form of `name` valid as a Kubernetes object and Docker image name
/// (lowercase, `-` for `_`).
pub fn kebab_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_names() {
        let cases: &[(&str, Option<&str>)] = &[
            ("my-app", None),
            ("my_app", None),
            ("App2", None),
            ("a", None),
            ("", Some("empty")),
            ("1app", Some("digit")),
            ("my app", Some("' '")),
            ("café", Some("'é'")),
            ("-app", Some("starts with '-'")),
            ("_app", Some("starts with '_'")),
            ("self", Some("keyword")),
            ("Self", Some("keyword")),
            ("fn", Some("keyword")),
            ("async", Some("keyword")),
            ("test", Some("reserved")),
            ("std", Some("reserved")),
            ("proc-macro", Some("reserved")),
            ("CON", Some("reserved")),
            ("build", Some("reserved")),
            ("armature-core", Some("depends on")),
            ("armature-web", Some("depends on")),
            ("serde_json", Some("depends on")),
        ];
        for (name, expected) in cases {
            match (validate(name), expected) {
                (Ok(()), None) => {}
                (Err(msg), Some(part)) => assert!(msg.contains(part), "{name:?}: {msg}"),
                (got, want) => panic!("{name:?}: got {got:?}, wanted an error containing {want:?}"),
            }
        }
        assert!(validate(&"a".repeat(65)).unwrap_err().contains("longer"));
    }

    #[test]
    fn derived_names() {
        assert_eq!(crate_name("my-app"), "my_app");
        assert_eq!(kebab_name("My_App"), "my-app");
    }
}
