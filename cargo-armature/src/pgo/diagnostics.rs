//! Profile diagnostics: recognising rustc's (LLVM's) warnings about a `-Cprofile-use`
//! profile, which never fail the build by themselves (PGO-FORMAT.md §0, §4).

use std::fmt;

/// One kind of profile warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfileProblem {
    /// `invalid instrumentation profile data (bad magic)`: not an indexed profile.
    BadMagic,
    /// `file header is corrupt`.
    CorruptHeader,
    /// `unsupported instrumentation profile format version`.
    UnsupportedVersion,
    /// `Not an IR level instrumentation profile`.
    NotIrLevel,
    /// `malformed instrumentation profile data`.
    Malformed,
    /// `function control flow change detected (hash mismatch)`: the source or flags changed.
    HashMismatch,
    /// `Inconsistent number of counts`.
    InconsistentCounts,
    /// `Inconsistent number of value sites`.
    InconsistentValueSites,
    /// `no profile data available for function` (from `-pgo-warn-missing-function`).
    MissingFunction,
    /// Any other warning that names the profile file.
    Other,
}

impl ProfileProblem {
    /// Whether this problem means the profile was (partly) ignored.
    pub fn is_fatal(self) -> bool {
        self != ProfileProblem::MissingFunction
    }
}

impl fmt::Display for ProfileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProfileProblem::BadMagic => "not an indexed profile (bad magic)",
            ProfileProblem::CorruptHeader => "corrupt profile header",
            ProfileProblem::UnsupportedVersion => "unsupported profile version",
            ProfileProblem::NotIrLevel => "not an IR-level profile",
            ProfileProblem::Malformed => "malformed profile data",
            ProfileProblem::HashMismatch => "function hash mismatch",
            ProfileProblem::InconsistentCounts => "inconsistent number of counts",
            ProfileProblem::InconsistentValueSites => "inconsistent number of value sites",
            ProfileProblem::MissingFunction => "function without profile data",
            ProfileProblem::Other => "profile warning",
        })
    }
}

const PATTERNS: [(&str, ProfileProblem); 9] = [
    (
        "no profile data available for function",
        ProfileProblem::MissingFunction,
    ),
    ("(bad magic)", ProfileProblem::BadMagic),
    ("file header is corrupt", ProfileProblem::CorruptHeader),
    (
        "unsupported instrumentation profile format version",
        ProfileProblem::UnsupportedVersion,
    ),
    (
        "Not an IR level instrumentation profile",
        ProfileProblem::NotIrLevel,
    ),
    (
        "malformed instrumentation profile data",
        ProfileProblem::Malformed,
    ),
    (
        "function control flow change detected (hash mismatch)",
        ProfileProblem::HashMismatch,
    ),
    (
        "Inconsistent number of counts",
        ProfileProblem::InconsistentCounts,
    ),
    (
        "Inconsistent number of value sites",
        ProfileProblem::InconsistentValueSites,
    ),
];

/// Classifies one warning message. `profile_name` (the profile's file name) catches
/// warnings about the profile that the list does not know.
pub fn classify(message: &str, profile_name: Option<&str>) -> Option<ProfileProblem> {
    PATTERNS
        .iter()
        .find(|(p, _)| message.contains(p))
        .map(|&(_, kind)| kind)
        .or_else(|| {
            profile_name
                .filter(|n| !n.is_empty() && message.contains(n))
                .map(|_| ProfileProblem::Other)
        })
}

/// The function a `no profile data available for function NAME Hash = ...` message names.
pub fn missing_function_name(message: &str) -> Option<&str> {
    let rest = message
        .split("no profile data available for function ")
        .nth(1)?;
    rest.split_whitespace().next()
}

/// Every profile warning seen during one build, deduplicated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileDiagnostics {
    /// Functions the profile had no data for (mangled names).
    pub missing_functions: Vec<String>,
    /// Warnings that mean the profile was ignored in part or whole: `(kind, message)`.
    pub fatal: Vec<(ProfileProblem, String)>,
}

impl ProfileDiagnostics {
    /// Records `message` if it is a profile warning; returns its kind.
    pub fn observe(&mut self, message: &str, profile_name: Option<&str>) -> Option<ProfileProblem> {
        let kind = classify(message, profile_name)?;
        let message = message.trim().to_owned();
        if kind == ProfileProblem::MissingFunction {
            let name = missing_function_name(&message)
                .unwrap_or(&message)
                .to_owned();
            if !self.missing_functions.contains(&name) {
                self.missing_functions.push(name);
            }
        } else if !self.fatal.iter().any(|(_, m)| *m == message) {
            self.fatal.push((kind, message));
        }
        Some(kind)
    }

    /// Whether no profile warning at all was seen.
    pub fn is_clean(&self) -> bool {
        self.missing_functions.is_empty() && self.fatal.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_every_warning_of_the_test_protocol() {
        let table = [
            ("/p/app-1.profdata: invalid instrumentation profile data (bad magic)", ProfileProblem::BadMagic),
            ("/p/a.profdata: invalid instrumentation profile data (file header is corrupt)", ProfileProblem::CorruptHeader),
            ("/p/a.profdata: unsupported instrumentation profile format version", ProfileProblem::UnsupportedVersion),
            ("/p/a.profdata: Not an IR level instrumentation profile", ProfileProblem::NotIrLevel),
            ("/p/a.profdata: malformed instrumentation profile data: profile data is empty", ProfileProblem::Malformed),
            ("app.cgu.0: function control flow change detected (hash mismatch) _ZN3app4main Hash = 1", ProfileProblem::HashMismatch),
            ("app.cgu.0: Inconsistent number of counts, skipping", ProfileProblem::InconsistentCounts),
            ("Inconsistent number of value sites for memory intrinsic functions size profiling", ProfileProblem::InconsistentValueSites),
            ("app.cgu.0: no profile data available for function _ZN3app3new17h2fE Hash = 38 up to 0 count discarded", ProfileProblem::MissingFunction),
            ("/p/app-1.profdata: something new", ProfileProblem::Other),
        ];
        for (msg, want) in table {
            assert_eq!(classify(msg, Some("app-1.profdata")), Some(want), "{msg}");
        }
        assert_eq!(
            classify("unused variable: `x`", Some("app-1.profdata")),
            None
        );
        assert!(!ProfileProblem::MissingFunction.is_fatal());
        assert!(ProfileProblem::HashMismatch.is_fatal());
    }

    #[test]
    fn collects_and_deduplicates() {
        let mut d = ProfileDiagnostics::default();
        let miss = "x.cgu.0: no profile data available for function _ZN1x1f17hE Hash = 3 up to 0 count discarded";
        d.observe(miss, None);
        d.observe(miss, None);
        d.observe("a: (bad magic)", None);
        d.observe("a: (bad magic)", None);
        d.observe("an ordinary warning", None);
        assert_eq!(d.missing_functions, vec!["_ZN1x1f17hE"]);
        assert_eq!(d.fatal.len(), 1);
        assert!(!d.is_clean());
        assert!(ProfileDiagnostics::default().is_clean());
    }
}
