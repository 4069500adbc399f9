//! `cargo armature doctor`: what this machine offers for building fast apps
//! (rustc and its LLVM, a matching llvm-profdata and llvm-bolt, wrk, hardware counters,
//! the CPU's features) and
//! how to get each missing piece. The probing itself lives in
//! [`crate::toolchain`]; this module only reports.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Result;
use clap::Args;

use crate::toolchain::{
    self, BoltDiscovery, ClangDiscovery, CpuFeatures, ProfdataDiscovery, RustcInfo, WrkTool,
};

const EXAMPLES: &str = "\
Examples:
  cargo armature doctor

Exits 0 whenever rustc works, even with optional tools missing; exits 1 when
rustc itself cannot be run.";

/// Arguments of `cargo armature doctor` (none yet).
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DoctorArgs {}

/// Everything doctor looked at.
#[derive(Debug)]
pub struct Report {
    /// rustc, or why it could not be run.
    pub rustc: Result<RustcInfo, String>,
    /// The llvm-profdata search (empty when rustc is unknown).
    pub profdata: ProfdataDiscovery,
    /// Install hint for llvm-profdata, when none is usable.
    pub profdata_hint: Option<String>,
    /// wrk, if on PATH.
    pub wrk: Option<WrkTool>,
    /// The llvm-bolt search (empty when rustc is unknown).
    pub bolt: BoltDiscovery,
    /// The clang `pgo` profiles build scripts' C and C++ code with, or why there is none.
    pub clang: ClangDiscovery,
    /// Whether hardware instruction counters can be read (`perf_event_open`), or why not.
    pub counters: Result<(), String>,
    /// What `-Ctarget-cpu=native` enables, or why it is unknown.
    pub cpu: Result<CpuFeatures, String>,
}

impl Report {
    /// Probes this machine.
    pub fn probe() -> Self {
        let rustc = RustcInfo::detect().map_err(|e| format!("{e:#}"));
        let (profdata, profdata_hint, cpu) = match &rustc {
            Ok(info) => {
                let found = toolchain::find_llvm_profdata(info);
                let hint = found.usable.is_none().then(|| found.install_hint(info));
                let cpu = CpuFeatures::detect(info).map_err(|e| format!("{e:#}"));
                (found, hint, cpu)
            }
            Err(_) => (
                ProfdataDiscovery::default(),
                None,
                Err("rustc is needed to ask".into()),
            ),
        };
        let bolt = match &rustc {
            Ok(info) => toolchain::find_llvm_bolt(info),
            Err(_) => BoltDiscovery::default(),
        };
        let clang = match &rustc {
            Ok(info) => toolchain::find_clang(info),
            Err(_) => ClangDiscovery::Missing("rustc is needed to match clang to".into()),
        };
        Self {
            rustc,
            profdata,
            profdata_hint,
            wrk: toolchain::find_wrk(),
            bolt,
            clang,
            counters: crate::pgo::counters::Instructions::attach(std::process::id()).map(|_| ()),
            cpu,
        }
    }

    /// The report as text: one line per piece, then what to do about the missing ones.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let mut todo: Vec<String> = Vec::new();
        let _ = writeln!(s, "cargo-armature {}", env!("CARGO_PKG_VERSION"));

        match &self.rustc {
            Ok(r) => {
                let llvm = r.llvm.map_or_else(
                    || "LLVM version unknown".to_owned(),
                    |v| format!("LLVM {v}"),
                );
                let _ = writeln!(
                    s,
                    "  ok       rustc {} ({}), built with {llvm}",
                    r.release, r.host
                );
            }
            Err(e) => {
                let _ = writeln!(s, "  MISSING  rustc: {e}");
                todo.push(
                    "rustc: install Rust with rustup (https://rustup.rs), then open a new shell"
                        .into(),
                );
            }
        }

        match &self.profdata.usable {
            Some(tool) => {
                let _ = writeln!(
                    s,
                    "  ok       llvm-profdata {} (LLVM {}, from {})",
                    tool.path.display(),
                    tool.version,
                    tool.origin
                );
            }
            None if self.rustc.is_ok() => {
                let _ = writeln!(
                    s,
                    "  missing  llvm-profdata with rustc's LLVM major (optional)"
                );
                let hint = self.profdata_hint.clone().unwrap_or_default();
                todo.push(format!(
                    "llvm-profdata: {hint}. Until then `cargo armature pgo` merges profiles with its built-in merger"
                ));
            }
            None => {}
        }
        for skipped in &self.profdata.skipped {
            let _ = writeln!(
                s,
                "  not used {} (from {}): {}",
                skipped.path.display(),
                skipped.origin,
                skipped.reason
            );
        }

        match &self.wrk {
            Some(wrk) => {
                let version = wrk.version.as_deref().unwrap_or("version unknown");
                let _ = writeln!(s, "  ok       wrk {} ({version})", wrk.path.display());
            }
            None => {
                let _ = writeln!(s, "  missing  wrk (optional)");
                todo.push(
                    "wrk: `sudo apt-get install wrk`, `brew install wrk`, or build it from \
                     https://github.com/wg/wrk. Until then `cargo armature pgo` drives load with its built-in client"
                        .into(),
                );
            }
        }

        match (&self.bolt.usable, &self.rustc) {
            (Some(b), _) => {
                let _ = writeln!(
                    s,
                    "  ok       llvm-bolt {} (LLVM {}, from {}), merge-fdata {}, runtime {}",
                    b.llvm_bolt.display(),
                    b.version,
                    b.origin,
                    b.merge_fdata.display(),
                    b.runtime.display()
                );
            }
            (None, Ok(info)) => {
                let _ = writeln!(
                    s,
                    "  missing  llvm-bolt with rustc's LLVM major (optional, for `pgo --bolt`)"
                );
                let mut hint = self.bolt.clone();
                hint.skipped.clear();
                todo.push(format!("llvm-bolt: {}", hint.install_hint(info)));
            }
            (None, Err(_)) => {}
        }
        for skipped in &self.bolt.skipped {
            let _ = writeln!(
                s,
                "  not used {}: {}",
                skipped.path.display(),
                skipped.reason
            );
        }

        match &self.clang {
            ClangDiscovery::Usable(c) => {
                let _ = writeln!(
                    s,
                    "  ok       clang {} (clang {}, from {}): `pgo` profiles C/C++ code of build scripts too",
                    c.clang.display(),
                    c.version,
                    c.origin
                );
            }
            ClangDiscovery::Missing(why) => {
                let _ = writeln!(
                    s,
                    "  missing  clang with rustc's LLVM major (optional, for C/C++ code under `pgo`)"
                );
                if self.rustc.is_ok() {
                    todo.push(format!("clang: {why}"));
                }
            }
        }

        match &self.counters {
            Ok(()) => {
                let _ = writeln!(
                    s,
                    "  ok       hardware instruction counters (pgo reports instructions per request)"
                );
            }
            Err(why) => {
                let _ = writeln!(
                    s,
                    "  none     hardware instruction counters: {why}; pgo reports CPU time only"
                );
            }
        }

        match &self.cpu {
            Ok(cpu) => {
                let name = cpu.native_cpu.as_deref().unwrap_or("unknown model");
                let _ = writeln!(
                    s,
                    "  ok       CPU {name}: -Ctarget-cpu=native enables {} target features:",
                    cpu.features.len()
                );
                let _ = write!(s, "{}", wrap(&cpu.features, "             ", 92));
            }
            Err(e) => {
                let _ = writeln!(s, "  unknown  CPU features: {e}");
            }
        }

        if todo.is_empty() {
            let _ = writeln!(s, "\nEverything `cargo armature` can use is here.");
        } else {
            let _ = writeln!(s, "\nTo do:");
            for t in todo {
                let _ = writeln!(s, "  - {t}");
            }
        }
        s
    }
}

/// Runs `cargo armature doctor`.
pub fn run(_args: DoctorArgs) -> Result<()> {
    let report = Report::probe();
    let mut out = std::io::stdout().lock();
    out.write_all(report.render().as_bytes())?;
    out.flush()?;
    if let Err(e) = &report.rustc {
        anyhow::bail!("rustc cannot be run ({e}); install Rust with rustup (https://rustup.rs)");
    }
    Ok(())
}

fn wrap(words: &[String], indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for w in words {
        if line.len() > indent.len() && line.len() + w.len() + 1 > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(indent);
        }
        line.push_str(w);
        line.push(' ');
    }
    if line.len() > indent.len() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolchain::LlvmVersion;

    fn rustc() -> RustcInfo {
        RustcInfo::parse("rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n").unwrap()
    }

    #[test]
    fn missing_optional_tools_become_advice_not_failure() {
        let report = Report {
            rustc: Ok(rustc()),
            profdata: ProfdataDiscovery::default(),
            profdata_hint: Some("install llvm-tools".into()),
            wrk: None,
            bolt: BoltDiscovery {
                usable: None,
                skipped: vec![toolchain::SkippedBolt {
                    path: "/usr/bin/llvm-bolt-19".into(),
                    reason: "it is LLVM 19.1.7, but rustc 1.95.0 uses LLVM 22".into(),
                }],
            },
            clang: ClangDiscovery::Missing(
                "no clang with rustc's LLVM 22; install clang 22 (Debian/Ubuntu: apt-get install clang-22) to profile it too".into(),
            ),
            counters: Err("this machine has no hardware instruction counter".into()),
            cpu: Ok(CpuFeatures {
                native_cpu: Some("znver3".into()),
                features: vec!["avx2".into(), "sse2".into()],
            }),
        };
        let text = report.render();
        assert!(
            text.contains(
                "ok       rustc 1.95.0 (x86_64-unknown-linux-gnu), built with LLVM 22.1.2"
            ),
            "{text}"
        );
        assert!(text.contains("missing  llvm-profdata"), "{text}");
        assert!(
            text.contains("- llvm-profdata: install llvm-tools. Until then"),
            "{text}"
        );
        assert!(text.contains("- wrk: `sudo apt-get install wrk`"), "{text}");
        assert!(text.contains("missing  llvm-bolt"), "{text}");
        assert!(
            text.contains("missing  clang with rustc's LLVM major"),
            "{text}"
        );
        assert!(
            text.contains("- clang: no clang with rustc's LLVM 22"),
            "{text}"
        );
        assert!(
            text.contains("- llvm-bolt: no usable llvm-bolt matching rustc's LLVM 22"),
            "{text}"
        );
        assert!(
            text.contains("not used /usr/bin/llvm-bolt-19: it is LLVM 19.1.7"),
            "{text}"
        );
        assert!(
            text.contains("none     hardware instruction counters: this machine has no"),
            "{text}"
        );
        assert!(text.contains("CPU znver3: -Ctarget-cpu=native enables 2 target features:\n             avx2 sse2\n"), "{text}");
    }

    #[test]
    fn complete_machine_has_nothing_to_do() {
        let report = Report {
            rustc: Ok(rustc()),
            profdata: ProfdataDiscovery {
                usable: Some(toolchain::ProfdataTool {
                    path: "/usr/bin/llvm-profdata-22".into(),
                    origin: toolchain::ProfdataOrigin::PathVersioned,
                    version: LlvmVersion {
                        major: 22,
                        minor: 1,
                        patch: 2,
                    },
                }),
                skipped: vec![toolchain::SkippedProfdata {
                    path: "/usr/bin/llvm-profdata".into(),
                    origin: toolchain::ProfdataOrigin::Path,
                    version: Some(LlvmVersion {
                        major: 14,
                        minor: 0,
                        patch: 6,
                    }),
                    reason: "LLVM 14.0.6, but rustc uses LLVM 22".into(),
                }],
            },
            profdata_hint: None,
            wrk: Some(WrkTool {
                path: "/usr/bin/wrk".into(),
                version: Some("4.1.0".into()),
            }),
            bolt: BoltDiscovery {
                usable: Some(toolchain::BoltTools {
                    llvm_bolt: "/usr/bin/llvm-bolt-22".into(),
                    merge_fdata: "/usr/lib/llvm-22/bin/merge-fdata".into(),
                    runtime: "/usr/lib/llvm-22/lib/libbolt_rt_instr.a".into(),
                    version: LlvmVersion {
                        major: 22,
                        minor: 1,
                        patch: 8,
                    },
                    origin: "versioned name on PATH",
                }),
                skipped: Vec::new(),
            },
            clang: ClangDiscovery::Usable(toolchain::ClangTool {
                clang: "/usr/bin/clang-22".into(),
                clangxx: "/usr/bin/clang++-22".into(),
                version: LlvmVersion {
                    major: 22,
                    minor: 1,
                    patch: 8,
                },
                origin: "versioned name on PATH",
            }),
            counters: Ok(()),
            cpu: Ok(CpuFeatures::default()),
        };
        let text = report.render();
        assert!(
            text.contains("ok       llvm-profdata /usr/bin/llvm-profdata-22 (LLVM 22.1.2"),
            "{text}"
        );
        assert!(
            text.contains(
                "not used /usr/bin/llvm-profdata (from PATH): LLVM 14.0.6, but rustc uses LLVM 22"
            ),
            "{text}"
        );
        assert!(
            text.contains("ok       llvm-bolt /usr/bin/llvm-bolt-22 (LLVM 22.1.8"),
            "{text}"
        );
        assert!(
            text.contains("Everything `cargo armature` can use is here."),
            "{text}"
        );
    }

    #[test]
    fn wrapping_keeps_lines_short() {
        let words: Vec<String> = (0..40).map(|i| format!("feature{i}")).collect();
        for line in wrap(&words, "  ", 30).lines() {
            assert!(line.len() <= 30, "{line}");
        }
    }
}
