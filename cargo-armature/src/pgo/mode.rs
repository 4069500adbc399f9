//! How the training run's profile is collected: written by the profiling runtime when
//! the server exits (graceful), or kept in a file mapping as it runs, so that a server
//! killed by any signal still leaves it (kill-safe, LLVM's continuous mode).
//!
//! Kill-safe, measured here (PGO-FORMAT.md's test programs, rustc 1.95 / LLVM 22):
//! - `%c` in `LLVM_PROFILE_FILE` maps the counters into the file; on Linux the binary
//!   must be built with `-runtime-counter-relocation` (without it the link fails:
//!   "`__llvm_profile_counter_bias` is undefined").
//! - The runtime writes no value-profile data in continuous mode, even at a normal exit,
//!   while the data records still count value sites: llvm-profdata-22 refuses such a
//!   file ("truncated profile data"), as does the built-in merger. So value profiling is
//!   switched off (`-disable-vp`) in the instrumented build and, to match, in the
//!   optimised one. Both mergers then give byte-identical profiles of a `kill -9`ed run.
//! - The cost: no indirect-call promotion and no memcpy/memset size specialisation.
//!
//! Why kill-safe is the default, measured on an app of the `api` template (trained on
//! tests/fixtures/pgo/api-workload.toml, measured on a GET mix of its own; a shared,
//! loaded 2-core machine): user-space instructions per request (callgrind, marginal of
//! 1,000 -> 3,000 requests) release-fat 29,698, graceful PGO 26,198 (0.882x), kill-safe
//! PGO 26,053 (0.877x); user CPU per request over 5 alternating rounds (wrk, 16
//! connections, 8 s) graceful 0.700x (0.655..0.791), kill-safe 0.692x (0.598..0.707) of
//! release-fat. Value profiling bought nothing measurable there, and kill-safe works on
//! servers that cannot be changed.

use std::ffi::OsString;
use std::path::Path;

use clap::ValueEnum;
use serde::Serialize;

/// How the training profile is collected (`--profile-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProfileMode {
    /// Counters kept in a file mapping as the server runs: a profile survives SIGTERM
    /// without a handler, a crash, or SIGKILL; no value profiling.
    #[default]
    KillSafe,
    /// The profile is written when the server exits normally (it must handle SIGTERM);
    /// includes value profiling (indirect calls, memcpy sizes).
    Graceful,
}

impl ProfileMode {
    /// Rustflags of the instrumented build, besides `-Cprofile-generate`.
    pub fn generate_flags(self) -> Vec<String> {
        match self {
            ProfileMode::Graceful => Vec::new(),
            ProfileMode::KillSafe => vec![
                "-Cllvm-args=-runtime-counter-relocation".into(),
                "-Cllvm-args=-disable-vp".into(),
            ],
        }
    }

    /// Rustflags of the optimised build, besides `-Cprofile-use`: the value-site count
    /// of the profile must match the build's.
    pub fn use_flags(self) -> Vec<String> {
        match self {
            ProfileMode::Graceful => Vec::new(),
            ProfileMode::KillSafe => vec!["-Cllvm-args=-disable-vp".into()],
        }
    }

    /// C and C++ flags of the instrumented build (code that build scripts compile with
    /// `cc`, profiled by a matching clang): its counters live in the same file, so they
    /// need the same relocation, and the same absence of value profiling.
    pub fn generate_cflags(self) -> Vec<String> {
        match self {
            ProfileMode::Graceful => Vec::new(),
            ProfileMode::KillSafe => vec![
                "-mllvm=-runtime-counter-relocation".into(),
                "-mllvm=-disable-vp".into(),
            ],
        }
    }

    /// C and C++ flags of the optimised build.
    pub fn use_cflags(self) -> Vec<String> {
        match self {
            ProfileMode::Graceful => Vec::new(),
            ProfileMode::KillSafe => vec!["-mllvm=-disable-vp".into()],
        }
    }

    /// `LLVM_PROFILE_FILE` for a run writing into `dir`.
    pub fn profile_file(self, dir: &Path) -> OsString {
        dir.join(match self {
            ProfileMode::Graceful => "%m_%p.profraw",
            ProfileMode::KillSafe => "%m_%p%c.profraw",
        })
        .into_os_string()
    }

    /// Whether a server that has to be killed still leaves its profile.
    pub fn survives_kill(self) -> bool {
        self == ProfileMode::KillSafe
    }

    /// How the profile is obtained and what that costs, for the report.
    pub fn describe(self) -> &'static str {
        match self {
            ProfileMode::KillSafe => {
                "kill-safe: counters kept in the profile file as the server runs (LLVM \
                 continuous mode, -runtime-counter-relocation), so any exit leaves it; without \
                 value profiling (-disable-vp in both builds): no indirect-call promotion, no \
                 memcpy/memset size specialisation"
            }
            ProfileMode::Graceful => {
                "graceful: written by the profiling runtime when the server exits normally \
                 after SIGTERM; with value profiling (indirect-call promotion, memcpy/memset \
                 sizes)"
            }
        }
    }
}

impl std::fmt::Display for ProfileMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProfileMode::KillSafe => "kill-safe",
            ProfileMode::Graceful => "graceful",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_safe_turns_value_profiling_off_in_both_builds() {
        let g = ProfileMode::KillSafe.generate_flags();
        assert!(g.contains(&"-Cllvm-args=-runtime-counter-relocation".to_owned()));
        assert!(g.contains(&"-Cllvm-args=-disable-vp".to_owned()));
        assert_eq!(
            ProfileMode::KillSafe.use_flags(),
            ["-Cllvm-args=-disable-vp"]
        );
        assert!(ProfileMode::Graceful.generate_flags().is_empty());
        assert!(ProfileMode::Graceful.use_flags().is_empty());
        let file = ProfileMode::KillSafe.profile_file(Path::new("/p"));
        assert_eq!(file, OsString::from("/p/%m_%p%c.profraw"));
        assert!(!ProfileMode::Graceful
            .profile_file(Path::new("/p"))
            .to_string_lossy()
            .contains("%c"));
    }
}
