//! The CPU: what `-Ctarget-cpu=native` means on this machine (its name and features),
//! as rustc reports it.

use std::collections::BTreeSet;

use anyhow::Result;

use super::RustcInfo;

/// What `-Ctarget-cpu=native` means on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuFeatures {
    /// The CPU name LLVM detects (`znver3`, `sapphirerapids`), if rustc reports it.
    pub native_cpu: Option<String>,
    /// Every `target_feature` enabled by `-Ctarget-cpu=native`, sorted (`avx2`, `sse4.2`, ...).
    pub features: Vec<String>,
}

impl CpuFeatures {
    /// Runs `rustc --print cfg -Ctarget-cpu=native` and `rustc --print target-cpus`.
    pub fn detect(rustc: &RustcInfo) -> Result<CpuFeatures> {
        let cfg = rustc.print("cfg", &["-Ctarget-cpu=native"])?;
        let native_cpu = rustc
            .print("target-cpus", &[])
            .ok()
            .and_then(|text| parse_native_cpu(&text));
        Ok(CpuFeatures {
            native_cpu,
            features: parse_target_features(&cfg),
        })
    }

    /// Whether a feature (as rustc names it, e.g. `avx2`) is enabled.
    pub fn has(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// Collects `target_feature="X"` lines of `rustc --print cfg`, sorted and deduplicated.
pub fn parse_target_features(cfg: &str) -> Vec<String> {
    let set: BTreeSet<String> = cfg
        .lines()
        .filter_map(|l| l.trim().strip_prefix("target_feature=\""))
        .filter_map(|l| l.strip_suffix('"'))
        .map(str::to_owned)
        .collect();
    set.into_iter().collect()
}

/// Finds the `native` line of `rustc --print target-cpus`:
/// `    native    - Select the CPU of the current host (currently znver3).`
pub fn parse_native_cpu(target_cpus: &str) -> Option<String> {
    let line = target_cpus
        .lines()
        .find(|l| l.trim_start().starts_with("native"))?;
    let start = line.find("(currently ")? + "(currently ".len();
    let end = start + line[start..].find(')')?;
    Some(line[start..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_features() {
        let cfg = "target_arch=\"x86_64\"\ntarget_feature=\"sse2\"\ntarget_feature=\"avx2\"\n\
                   target_feature=\"avx2\"\ntarget_os=\"linux\"\n";
        assert_eq!(parse_target_features(cfg), vec!["avx2", "sse2"]);
        let cpus = "Available CPUs for this target:\n    native - Select the CPU of the \
                    current host (currently znver3).\n    alderlake\n";
        assert_eq!(parse_native_cpu(cpus).as_deref(), Some("znver3"));
        assert_eq!(parse_native_cpu("    alderlake\n"), None);
    }
}
