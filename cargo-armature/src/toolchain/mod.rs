//! Toolchain discovery, in one place: what rustc, LLVM, llvm-profdata, llvm-bolt, clang,
//! the C compiler, wrk and the CPU offer on this machine.
//!
//! Everything here runs a tool and parses what it prints; the parsing is split out into
//! pure functions (`parse_*`) so it can be tested without the tools installed. One file
//! per tool; `search` is the one PATH and LLVM-tree search they share.
//!
//! | file | finds |
//! | --- | --- |
//! | `rustc.rs` | rustc (`$RUSTC`): release, host, LLVM version, sysroot, `--print` |
//! | `llvm.rs` | LLVM versions, and an LLVM tool's own (`--version`) |
//! | `search.rs` | the PATH / LLVM-tree search for a tool of rustc's LLVM major |
//! | `profdata.rs` | llvm-profdata (`$LLVM_PROFDATA`, rustup's llvm-tools, PATH) |
//! | `bolt.rs` | llvm-bolt, merge-fdata and BOLT's runtime (`$LLVM_BOLT`, PATH, `/usr/lib/llvm-N`) |
//! | `clang.rs` | a clang of rustc's LLVM for build scripts' C and C++ (`$CC`, PATH, `/usr/lib/llvm-N`) |
//! | `cc.rs` | whether the C compiler (`$CC` or `cc`) accepts a flag |
//! | `wrk.rs` | wrk on PATH |
//! | `cpu.rs` | what `-Ctarget-cpu=native` means here |
//!
//! Used by `cargo armature pgo` (which llvm-profdata may merge profiles, which host to
//! build for, whether `wrk` drives the load), by `cargo armature build` (the host's cfg)
//! and by `cargo armature doctor` (the report).
//!
//! ```no_run
//! use cargo_armature::toolchain::{self, RustcInfo};
//! let rustc = RustcInfo::detect()?;
//! println!("rustc {} for {}, LLVM {:?}", rustc.release, rustc.host, rustc.llvm);
//! let profdata = toolchain::find_llvm_profdata(&rustc);
//! match &profdata.usable {
//!     Some(tool) => println!("llvm-profdata: {} ({})", tool.path.display(), tool.origin),
//!     None => println!("{}", profdata.install_hint(&rustc)),
//! }
//! for skipped in &profdata.skipped {
//!     println!("skipped {}: {}", skipped.path.display(), skipped.reason);
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

mod bolt;
mod cc;
mod clang;
mod cpu;
mod llvm;
mod profdata;
mod rustc;
mod search;
mod wrk;

pub use bolt::{find_llvm_bolt, find_llvm_bolt_in, BoltDiscovery, BoltTools, SkippedBolt};
pub use cc::c_compiler_accepts;
pub use clang::{find_clang, find_clang_in, parse_clang_version, ClangDiscovery, ClangTool};
pub use cpu::{parse_native_cpu, parse_target_features, CpuFeatures};
pub use llvm::{llvm_tool_version, parse_llvm_version_output, LlvmVersion};
pub use profdata::{
    find_llvm_profdata, find_llvm_profdata_in, ProbeEnv, ProfdataDiscovery, ProfdataOrigin,
    ProfdataTool, SkippedProfdata,
};
pub use rustc::{rustc_path, RustcInfo};
pub use wrk::{find_wrk, find_wrk_in, parse_wrk_version, WrkTool};
