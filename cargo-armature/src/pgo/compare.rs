//! The before/after measurement: the plain `release-fat` build and the PGO build under
//! the same load, alternating A B A B over at least three pairs, reported as a table
//! and as JSON.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use super::server::{free_loopback_addr, RunningServer, ServerSpec};
use crate::load::{Driver, LoadOptions, LoadReport, ProgressMode, Workload};

/// How to run the comparison.
#[derive(Debug, Clone)]
pub struct CompareSettings {
    /// A B pairs, at least 3.
    pub pairs: u32,
    /// Load before each measured run, not counted.
    pub warmup: Duration,
    /// The measured load.
    pub load: LoadOptions,
    /// Server arguments (placeholders allowed).
    pub server_args: Vec<String>,
    /// Extra server environment.
    pub server_env: Vec<(String, std::ffi::OsString)>,
    /// Waiting for the server to listen.
    pub startup_timeout: Duration,
    /// Waiting for it to exit after SIGTERM.
    pub stop_timeout: Duration,
    /// Echo server output.
    pub echo: bool,
}

/// One measured run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunFigures {
    /// Responses per second.
    pub rps: f64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// Responses.
    pub requests: u64,
    /// Socket errors plus responses with status >= 400.
    pub errors: u64,
    /// Server CPU time (user + system) per response, µs, when `/proc` is readable.
    pub cpu_us_per_request: Option<f64>,
}

/// One A B pair.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PairResult {
    /// 1-based.
    pub pair: u32,
    /// The plain `release-fat` build.
    pub release_fat: RunFigures,
    /// The PGO build.
    pub pgo: RunFigures,
    /// `pgo.rps / release_fat.rps`.
    pub rps_ratio: f64,
}

/// Medians over the pairs, for one build.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Medians {
    /// Median req/s.
    pub rps: f64,
    /// Median of the p50 latencies, µs.
    pub p50_us: f64,
    /// Median of the p99 latencies, µs.
    pub p99_us: f64,
    /// Median CPU µs per request.
    pub cpu_us_per_request: Option<f64>,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
    /// The plain binary.
    pub release_fat_binary: PathBuf,
    /// The PGO binary.
    pub pgo_binary: PathBuf,
    /// `wrk` or `builtin`.
    pub driver: String,
    /// The measurement mix, one request per entry.
    pub workload: Vec<String>,
    /// Connections.
    pub connections: u32,
    /// Measured seconds per run.
    pub duration_s: f64,
    /// Warm-up seconds per run.
    pub warmup_s: f64,
    /// Whether server and load were pinned to separate CPUs.
    pub pinned: bool,
    /// Each pair, in order.
    pub pairs: Vec<PairResult>,
    /// Medians of the plain build.
    pub release_fat: Medians,
    /// Medians of the PGO build.
    pub pgo: Medians,
    /// Median of the per-pair req/s ratios (PGO / release-fat).
    pub rps_ratio_median: f64,
    /// Smallest per-pair ratio.
    pub rps_ratio_min: f64,
    /// Largest per-pair ratio.
    pub rps_ratio_max: f64,
    /// Whether any run had errors (then the figures are suspect).
    pub had_errors: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn medians(runs: &[&RunFigures]) -> Medians {
    let cpu: Option<Vec<f64>> = runs.iter().map(|r| r.cpu_us_per_request).collect();
    Medians {
        rps: median(runs.iter().map(|r| r.rps).collect()),
        p50_us: median(runs.iter().map(|r| r.p50_us).collect()),
        p99_us: median(runs.iter().map(|r| r.p99_us).collect()),
        cpu_us_per_request: cpu.map(median),
    }
}

/// Runs the comparison.
pub fn run(
    driver: &Driver,
    release_fat: &Path,
    pgo: &Path,
    workload: &Workload,
    settings: &CompareSettings,
) -> Result<Comparison> {
    let pinned = crate::load::available_cpus() >= 2;
    let mut pairs = Vec::new();
    for pair in 1..=settings.pairs {
        let a = measure(
            driver,
            release_fat,
            workload,
            settings,
            pinned,
            &format!("pair {pair}/{} release-fat", settings.pairs),
        )?;
        let b = measure(
            driver,
            pgo,
            workload,
            settings,
            pinned,
            &format!("pair {pair}/{} pgo", settings.pairs),
        )?;
        let ratio = if a.rps > 0.0 { b.rps / a.rps } else { 0.0 };
        eprintln!(
            "      pair {pair}: release-fat {:>9.0} req/s   pgo {:>9.0} req/s   ratio {ratio:.3}{}",
            a.rps,
            b.rps,
            if a.errors + b.errors > 0 {
                "   (errors!)"
            } else {
                ""
            }
        );
        pairs.push(PairResult {
            pair,
            release_fat: a,
            pgo: b,
            rps_ratio: ratio,
        });
    }
    let ratios: Vec<f64> = pairs.iter().map(|p| p.rps_ratio).collect();
    Ok(Comparison {
        release_fat_binary: release_fat.to_path_buf(),
        pgo_binary: pgo.to_path_buf(),
        driver: driver.name().to_owned(),
        workload: workload.requests.iter().map(|r| r.to_string()).collect(),
        connections: settings.load.connections,
        duration_s: settings.load.duration.as_secs_f64(),
        warmup_s: settings.warmup.as_secs_f64(),
        pinned,
        release_fat: medians(&pairs.iter().map(|p| &p.release_fat).collect::<Vec<_>>()),
        pgo: medians(&pairs.iter().map(|p| &p.pgo).collect::<Vec<_>>()),
        rps_ratio_median: median(ratios.clone()),
        rps_ratio_min: ratios.iter().copied().fold(f64::INFINITY, f64::min),
        rps_ratio_max: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        had_errors: pairs
            .iter()
            .any(|p| p.release_fat.errors + p.pgo.errors > 0),
        pairs,
    })
}

fn measure(
    driver: &Driver,
    exe: &Path,
    workload: &Workload,
    settings: &CompareSettings,
    pinned: bool,
    label: &str,
) -> Result<RunFigures> {
    let spec = ServerSpec {
        exe: exe.to_path_buf(),
        addr: free_loopback_addr()?,
        args: settings.server_args.clone(),
        env: settings.server_env.clone(),
        pin_cpu: pinned.then_some(1),
        echo: settings.echo,
    };
    let server = RunningServer::start(&spec, settings.startup_timeout)
        .with_context(|| format!("starting {} for {label}", exe.display()))?;
    let pin = pinned.then_some(0);
    if !settings.warmup.is_zero() {
        let warm = LoadOptions {
            duration: settings.warmup,
            max_requests: None,
            progress: ProgressMode::Off,
            pin_cpu: pin,
            ..settings.load.clone()
        };
        driver
            .run(server.addr(), workload, &warm)
            .context("warm-up load")?;
    }
    let cpu_before = server.cpu_time();
    let opts = LoadOptions {
        label: label.to_owned(),
        pin_cpu: pin,
        ..settings.load.clone()
    };
    let report: LoadReport = driver
        .run(server.addr(), workload, &opts)
        .with_context(|| format!("load for {label}"))?;
    let cpu_after = server.cpu_time();
    server.stop(settings.stop_timeout)?;
    let cpu_us_per_request = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) if report.requests > 0 => {
            Some(a.saturating_sub(b).as_secs_f64() * 1e6 / report.requests as f64)
        }
        _ => None,
    };
    Ok(RunFigures {
        rps: report.rps,
        p50_us: report.p50_us,
        p99_us: report.p99_us,
        requests: report.requests,
        errors: report.errors.total(),
        cpu_us_per_request,
    })
}

/// The table printed at the end.
pub fn table(c: &Comparison) -> String {
    let mut out = String::new();
    let cpu = |m: Option<f64>| m.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
    out.push_str(&format!(
        "  {:<13} {:>12} {:>10} {:>10} {:>14}\n",
        "build", "req/s", "p50 µs", "p99 µs", "CPU µs/req"
    ));
    for (name, m) in [("release-fat", &c.release_fat), ("pgo", &c.pgo)] {
        out.push_str(&format!(
            "  {:<13} {:>12.0} {:>10.1} {:>10.1} {:>14}\n",
            name,
            m.rps,
            m.p50_us,
            m.p99_us,
            cpu(m.cpu_us_per_request)
        ));
    }
    let ratio = |a: f64, b: f64| if a > 0.0 { b / a } else { 0.0 };
    out.push_str(&format!(
        "  {:<13} {:>12} {:>10} {:>10} {:>14}\n",
        "pgo/fat",
        format!("{:.3}", c.rps_ratio_median),
        format!("{:.3}", ratio(c.release_fat.p50_us, c.pgo.p50_us)),
        format!("{:.3}", ratio(c.release_fat.p99_us, c.pgo.p99_us)),
        match (c.release_fat.cpu_us_per_request, c.pgo.cpu_us_per_request) {
            (Some(a), Some(b)) => format!("{:.3}", ratio(a, b)),
            _ => "-".into(),
        }
    ));
    out.push_str(&format!(
        "  medians of {} alternating pairs ({}, {} connections, {:.0} s each{}); req/s ratio per pair: {} (min {:.3}, max {:.3})\n",
        c.pairs.len(),
        c.driver,
        c.connections,
        c.duration_s,
        if c.pinned { ", server and load on separate CPUs" } else { "" },
        c.pairs
            .iter()
            .map(|p| format!("{:.3}", p.rps_ratio))
            .collect::<Vec<_>>()
            .join(" "),
        c.rps_ratio_min,
        c.rps_ratio_max
    ));
    if c.had_errors {
        out.push_str("  warning: some runs had errors (socket errors or HTTP status >= 400); see the JSON report\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(rps: f64) -> RunFigures {
        RunFigures {
            rps,
            p50_us: 1e6 / rps,
            p99_us: 3e6 / rps,
            requests: rps as u64,
            errors: 0,
            cpu_us_per_request: Some(1e6 / rps),
        }
    }

    #[test]
    fn medians_and_table() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        let pairs: Vec<PairResult> = [(100.0, 110.0), (90.0, 108.0), (100.0, 105.0)]
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| PairResult {
                pair: i as u32 + 1,
                release_fat: fig(a),
                pgo: fig(b),
                rps_ratio: b / a,
            })
            .collect();
        let c = Comparison {
            release_fat_binary: "a".into(),
            pgo_binary: "b".into(),
            driver: "wrk".into(),
            workload: vec!["GET /".into()],
            connections: 16,
            duration_s: 5.0,
            warmup_s: 1.0,
            pinned: true,
            release_fat: medians(&pairs.iter().map(|p| &p.release_fat).collect::<Vec<_>>()),
            pgo: medians(&pairs.iter().map(|p| &p.pgo).collect::<Vec<_>>()),
            rps_ratio_median: median(pairs.iter().map(|p| p.rps_ratio).collect()),
            rps_ratio_min: 1.05,
            rps_ratio_max: 1.2,
            had_errors: false,
            pairs,
        };
        assert_eq!(c.release_fat.rps, 100.0);
        assert_eq!(c.pgo.rps, 108.0);
        assert!((c.rps_ratio_median - 1.1).abs() < 1e-9);
        let t = table(&c);
        assert!(t.contains("release-fat"), "{t}");
        assert!(t.contains("1.100"), "{t}");
        assert!(t.contains("3 alternating pairs"), "{t}");
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["pairs"][1]["release_fat"]["rps"], 90.0);
    }
}
