//! The before/after measurement: the plain `release-fat` build, the PGO build (and the
//! PGO+BOLT build, when there is one) under the same load, alternating A B (C) over at
//! least three rounds; each run's server CPU split into user space (what PGO and BOLT
//! change) and the kernel (what they cannot), reported as a table and as JSON.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use super::counters::{CpuTicks, Instructions};
use super::server::{RunningServer, ServerSpec};
use crate::load::{Driver, LoadOptions, LoadReport, ProgressMode, Workload};

/// How to run the comparison.
#[derive(Debug, Clone)]
pub struct CompareSettings {
    /// Rounds (each runs every build once), at least 3.
    pub pairs: u32,
    /// Load before each measured run, not counted.
    pub warmup: Duration,
    /// The measured load.
    pub load: LoadOptions,
    /// Server arguments (placeholders allowed).
    pub server_args: Vec<String>,
    /// Extra server environment.
    pub server_env: Vec<(String, std::ffi::OsString)>,
    /// Where the server listens when not where it is asked to (`--addr`, or found by
    /// the training run).
    pub addr: Option<std::net::SocketAddr>,
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
    /// Raw counters: the server's `utime` clock ticks during the measured load.
    pub user_ticks: Option<u64>,
    /// Raw counters: the server's `stime` clock ticks during the measured load.
    pub system_ticks: Option<u64>,
    /// Clock ticks per second (`_SC_CLK_TCK`).
    pub ticks_per_s: Option<u64>,
    /// User-space CPU per response, µs: `user_ticks / ticks_per_s / requests`.
    pub user_us_per_request: Option<f64>,
    /// Kernel CPU per response, µs.
    pub system_us_per_request: Option<f64>,
    /// User + kernel CPU per response, µs.
    pub cpu_us_per_request: Option<f64>,
    /// User-space instructions retired by the server during the measured load.
    pub instructions: Option<u64>,
    /// `instructions / requests`.
    pub instructions_per_request: Option<f64>,
}

impl RunFigures {
    fn new(report: &LoadReport, ticks: Option<CpuTicks>, instructions: Option<u64>) -> Self {
        let hz = CpuTicks::per_second();
        let per_req = |t: u64| -> Option<f64> {
            let hz = hz?;
            (report.requests > 0).then(|| t as f64 / hz as f64 * 1e6 / report.requests as f64)
        };
        RunFigures {
            rps: report.rps,
            p50_us: report.p50_us,
            p99_us: report.p99_us,
            requests: report.requests,
            errors: report.errors.total(),
            user_ticks: ticks.map(|t| t.user),
            system_ticks: ticks.map(|t| t.system),
            ticks_per_s: hz,
            user_us_per_request: ticks.and_then(|t| per_req(t.user)),
            system_us_per_request: ticks.and_then(|t| per_req(t.system)),
            cpu_us_per_request: ticks.and_then(|t| per_req(t.user + t.system)),
            instructions,
            instructions_per_request: instructions
                .filter(|_| report.requests > 0)
                .map(|i| i as f64 / report.requests as f64),
        }
    }

    /// Each figure the report compares, by name.
    fn metric(&self, m: Metric) -> Option<f64> {
        match m {
            Metric::Rps => Some(self.rps),
            Metric::P50 => Some(self.p50_us),
            Metric::P99 => Some(self.p99_us),
            Metric::User => self.user_us_per_request,
            Metric::System => self.system_us_per_request,
            Metric::Cpu => self.cpu_us_per_request,
            Metric::Instructions => self.instructions_per_request,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Metric {
    Rps,
    P50,
    P99,
    User,
    System,
    Cpu,
    Instructions,
}

/// Ratios of one build's figures to another's (`build / baseline`); in a round, of
/// that round's two runs; over the comparison, the median of the rounds' ratios.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Ratios {
    /// The build.
    pub build: String,
    /// The build it is compared with.
    pub baseline: String,
    /// req/s.
    pub rps: f64,
    /// p50 latency.
    pub p50: f64,
    /// p99 latency.
    pub p99: f64,
    /// User-space CPU per request.
    pub user_cpu: Option<f64>,
    /// Kernel CPU per request.
    pub system_cpu: Option<f64>,
    /// Total CPU per request.
    pub cpu: Option<f64>,
    /// User-space instructions per request.
    pub instructions: Option<f64>,
    /// Over the comparison: the lowest and highest of the rounds' user-CPU ratios.
    pub user_cpu_range: Option<(f64, f64)>,
    /// Over the comparison: the lowest and highest of the rounds' total-CPU ratios.
    pub cpu_range: Option<(f64, f64)>,
}

impl Ratios {
    fn of(build: &str, b: &RunFigures, baseline: &str, a: &RunFigures) -> Ratios {
        let r = |m: Metric| match (b.metric(m), a.metric(m)) {
            (Some(b), Some(a)) if a > 0.0 => Some(b / a),
            _ => None,
        };
        Ratios {
            build: build.to_owned(),
            baseline: baseline.to_owned(),
            rps: r(Metric::Rps).unwrap_or(0.0),
            p50: r(Metric::P50).unwrap_or(0.0),
            p99: r(Metric::P99).unwrap_or(0.0),
            user_cpu: r(Metric::User),
            system_cpu: r(Metric::System),
            cpu: r(Metric::Cpu),
            instructions: r(Metric::Instructions),
            user_cpu_range: None,
            cpu_range: None,
        }
    }

    fn median_of(all: &[&Ratios]) -> Ratios {
        let opt = |f: fn(&Ratios) -> Option<f64>| -> Option<f64> {
            all.iter()
                .map(|r| f(r))
                .collect::<Option<Vec<f64>>>()
                .map(median)
        };
        Ratios {
            build: all.first().map(|r| r.build.clone()).unwrap_or_default(),
            baseline: all.first().map(|r| r.baseline.clone()).unwrap_or_default(),
            rps: median(all.iter().map(|r| r.rps).collect()),
            p50: median(all.iter().map(|r| r.p50).collect()),
            p99: median(all.iter().map(|r| r.p99).collect()),
            user_cpu: opt(|r| r.user_cpu),
            system_cpu: opt(|r| r.system_cpu),
            cpu: opt(|r| r.cpu),
            instructions: opt(|r| r.instructions),
            user_cpu_range: range(all, |r| r.user_cpu),
            cpu_range: range(all, |r| r.cpu),
        }
    }

    /// Whether the rounds' user-CPU ratios spread as widely as the change itself (their
    /// median's distance from 1): then the comparison cannot tell the change from noise.
    pub fn user_cpu_is_noise(&self) -> bool {
        match (self.user_cpu, self.user_cpu_range) {
            (Some(m), Some((lo, hi))) => hi - lo >= (1.0 - m).abs(),
            _ => false,
        }
    }
}

fn range(all: &[&Ratios], f: fn(&Ratios) -> Option<f64>) -> Option<(f64, f64)> {
    let v = all.iter().map(|r| f(r)).collect::<Option<Vec<f64>>>()?;
    let lo = v.iter().copied().reduce(f64::min)?;
    let hi = v.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}

/// One round: every build once, in order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Round {
    /// 1-based.
    pub round: u32,
    /// One run per build, in the order of [`Comparison::builds`].
    pub runs: Vec<RunFigures>,
    /// Each build after the first against the one before it (PGO / release-fat,
    /// PGO+BOLT / PGO).
    pub ratios: Vec<Ratios>,
}

/// Medians over the rounds, for one build.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Medians {
    /// Median req/s.
    pub rps: f64,
    /// Median of the p50 latencies, µs.
    pub p50_us: f64,
    /// Median of the p99 latencies, µs.
    pub p99_us: f64,
    /// Median user-space CPU µs per request.
    pub user_us_per_request: Option<f64>,
    /// Median kernel CPU µs per request.
    pub system_us_per_request: Option<f64>,
    /// Median total CPU µs per request.
    pub cpu_us_per_request: Option<f64>,
    /// Median user-space instructions per request.
    pub instructions_per_request: Option<f64>,
    /// The kernel's share of this build's CPU per request (0..1).
    pub kernel_share: Option<f64>,
}

impl Medians {
    fn of(runs: &[&RunFigures]) -> Medians {
        let med = |m: Metric| -> Option<f64> {
            runs.iter()
                .map(|r| r.metric(m))
                .collect::<Option<Vec<f64>>>()
                .map(median)
        };
        let user = med(Metric::User);
        let system = med(Metric::System);
        Medians {
            rps: med(Metric::Rps).unwrap_or(0.0),
            p50_us: med(Metric::P50).unwrap_or(0.0),
            p99_us: med(Metric::P99).unwrap_or(0.0),
            user_us_per_request: user,
            system_us_per_request: system,
            cpu_us_per_request: med(Metric::Cpu),
            instructions_per_request: med(Metric::Instructions),
            kernel_share: match (user, system) {
                (Some(u), Some(s)) if u + s > 0.0 => Some(s / (u + s)),
                _ => None,
            },
        }
    }
}

/// One build in the comparison.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BuildResult {
    /// `release-fat`, `pgo`, `pgo+bolt`.
    pub name: String,
    /// The binary measured.
    pub binary: PathBuf,
    /// Its medians over the rounds.
    pub medians: Medians,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
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
    /// The builds, baseline first.
    pub builds: Vec<BuildResult>,
    /// Each round, in order.
    pub rounds: Vec<Round>,
    /// Medians of the rounds' ratios, one per build after the first.
    pub ratios: Vec<Ratios>,
    /// What the figures say, in words (the first line of the printed summary).
    pub headline: Vec<String>,
    /// Why there are no instruction counts, when there are none.
    pub instructions_unavailable: Option<String>,
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

/// Runs the comparison of `builds` (name, binary), baseline first.
pub fn run(
    driver: &Driver,
    builds: &[(&str, &Path)],
    workload: &Workload,
    settings: &CompareSettings,
) -> Result<Comparison> {
    let pinned = crate::load::available_cpus() >= 2;
    let mut rounds = Vec::new();
    let mut unavailable = None;
    for round in 1..=settings.pairs {
        let mut runs = Vec::new();
        for (name, exe) in builds {
            let label = format!("round {round}/{} {name}", settings.pairs);
            let (fig, why) = measure(driver, exe, workload, settings, pinned, &label)?;
            unavailable = unavailable.or(why);
            runs.push(fig);
        }
        let ratios: Vec<Ratios> = (1..builds.len())
            .map(|i| Ratios::of(builds[i].0, &runs[i], builds[i - 1].0, &runs[i - 1]))
            .collect();
        let shown: Vec<String> = builds
            .iter()
            .zip(&runs)
            .map(|((n, _), r)| {
                format!(
                    "{n} {:.0} req/s {} µs user",
                    r.rps,
                    fmt_opt(r.user_us_per_request, 3)
                )
            })
            .collect();
        eprintln!(
            "      round {round}: {}{}",
            shown.join(", "),
            if runs.iter().any(|r| r.errors > 0) {
                "   (errors!)"
            } else {
                ""
            }
        );
        rounds.push(Round {
            round,
            runs,
            ratios,
        });
    }
    Ok(summarise(
        driver.name(),
        builds,
        workload,
        settings,
        pinned,
        rounds,
        unavailable,
    ))
}

fn summarise(
    driver: &str,
    builds: &[(&str, &Path)],
    workload: &Workload,
    settings: &CompareSettings,
    pinned: bool,
    rounds: Vec<Round>,
    instructions_unavailable: Option<String>,
) -> Comparison {
    let results: Vec<BuildResult> = builds
        .iter()
        .enumerate()
        .map(|(i, (name, exe))| BuildResult {
            name: (*name).to_owned(),
            binary: exe.to_path_buf(),
            medians: Medians::of(&rounds.iter().map(|r| &r.runs[i]).collect::<Vec<_>>()),
        })
        .collect();
    let ratios: Vec<Ratios> = (1..builds.len())
        .map(|i| Ratios::median_of(&rounds.iter().map(|r| &r.ratios[i - 1]).collect::<Vec<_>>()))
        .collect();
    let mut c = Comparison {
        driver: driver.to_owned(),
        workload: workload.requests.iter().map(|r| r.to_string()).collect(),
        connections: settings.load.connections,
        duration_s: settings.load.duration.as_secs_f64(),
        warmup_s: settings.warmup.as_secs_f64(),
        pinned,
        had_errors: rounds.iter().any(|r| r.runs.iter().any(|f| f.errors > 0)),
        builds: results,
        rounds,
        ratios,
        headline: Vec::new(),
        instructions_unavailable,
    };
    c.headline = headline(&c);
    c
}

/// What changed, in words: user space first (the code PGO and BOLT rebuild), then the
/// kernel's share of a request's cost and how it moved, and whether the rounds spread
/// as widely as the change.
fn headline(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    for (i, r) in c.ratios.iter().enumerate() {
        let (a, b) = (&c.builds[i].medians, &c.builds[i + 1].medians);
        let what = match r.build.as_str() {
            "pgo" => "PGO".to_owned(),
            "pgo+bolt" => "BOLT on top of PGO".to_owned(),
            other => other.to_owned(),
        };
        match (a.user_us_per_request, b.user_us_per_request, r.user_cpu) {
            (Some(ua), Some(ub), Some(ratio)) => {
                let kernel = match (b.kernel_share, b.system_us_per_request) {
                    (Some(share), Some(sys)) => format!(
                        "; the kernel (TCP, syscalls: system time) is {:.0}% of a request's CPU \
                         ({sys:.2} µs, {}x)",
                        share * 100.0,
                        fmt_opt(r.system_cpu, 3)
                    ),
                    _ => String::new(),
                };
                let rounds = r
                    .user_cpu_range
                    .map(|(lo, hi)| format!(", rounds {lo:.3}..{hi:.3}"))
                    .unwrap_or_default();
                out.push(format!(
                    "{what}: user-space CPU per request {ua:.3} -> {ub:.3} µs ({ratio:.3}x of \
                     {}{rounds}){kernel}; so total CPU per request {}x and req/s {:.3}x",
                    r.baseline,
                    fmt_opt(r.cpu, 3),
                    r.rps
                ));
                if let (true, Some((lo, hi))) = (r.user_cpu_is_noise(), r.user_cpu_range) {
                    out.push(format!(
                        "{what}: the rounds' user-CPU ratios spread over {:.3} ({lo:.3}..{hi:.3}), \
                         as much as the change itself ({:.3}): this comparison cannot tell it \
                         from noise; measure longer (--compare-duration), with more rounds \
                         (--pairs), on a quieter machine",
                        hi - lo,
                        (1.0 - ratio).abs()
                    ));
                }
            }
            (Some(_), Some(_), None) => {
                let ticks: u64 = c
                    .rounds
                    .iter()
                    .flat_map(|round| [&round.runs[i], &round.runs[i + 1]])
                    .filter_map(|f| f.user_ticks)
                    .sum();
                out.push(format!(
                    "{what}: too few user-space CPU clock ticks to compare ({ticks} over every run; \
                     measure longer with --compare-duration); req/s {:.3}x {}",
                    r.rps, r.baseline
                ));
            }
            _ => out.push(format!(
                "{what}: req/s {:.3}x {} (no CPU split: /proc/PID/stat was not readable)",
                r.rps, r.baseline
            )),
        }
        if let Some(ins) = r.instructions {
            out.push(format!(
                "{what}: user-space instructions per request {}x {}",
                fmt_opt(Some(ins), 3),
                r.baseline
            ));
        }
    }
    // /proc counts CPU in clock ticks (usually 10 ms): a run with few ticks gives a
    // coarse user-space figure, and the user should know how coarse.
    let fewest = c
        .rounds
        .iter()
        .flat_map(|r| &r.runs)
        .filter_map(|f| f.user_ticks)
        .min();
    if let Some(n) = fewest.filter(|n| *n < 100) {
        out.push(format!(
            "precision: as few as {n} user-space clock ticks in a run (one tick is {:.0}% of \
             that run's user CPU); measure longer (--compare-duration) for a finer user-space ratio",
            100.0 / n.max(1) as f64
        ));
    }
    if let Some(why) = &c.instructions_unavailable {
        out.push(format!("instruction counts: none ({why})"));
    }
    out
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

/// Starts `exe`, warms it up, measures one run; returns its figures and, when
/// instructions could not be counted, why.
fn measure(
    driver: &Driver,
    exe: &Path,
    workload: &Workload,
    settings: &CompareSettings,
    pinned: bool,
    label: &str,
) -> Result<(RunFigures, Option<String>)> {
    let spec = ServerSpec {
        args: settings.server_args.clone(),
        env: settings.server_env.clone(),
        pin_cpu: pinned.then_some(1),
        echo: settings.echo,
        ..ServerSpec::new(exe.to_path_buf(), settings.addr)?
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
    // After the warm-up, so that every worker thread exists and is counted.
    let (counter, unavailable) = match Instructions::attach(server.pid()) {
        Ok(c) => (Some(c), None),
        Err(why) => (None, Some(why)),
    };
    let ins_before = counter.as_ref().and_then(Instructions::read);
    let cpu_before = server.cpu_ticks();
    let opts = LoadOptions {
        label: label.to_owned(),
        pin_cpu: pin,
        ..settings.load.clone()
    };
    let report: LoadReport = driver
        .run(server.addr(), workload, &opts)
        .with_context(|| format!("load for {label}"))?;
    let cpu_after = server.cpu_ticks();
    let ins_after = counter.as_ref().and_then(Instructions::read);
    drop(counter);
    server.stop(settings.stop_timeout)?;
    let ticks = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) => Some(a.since(b)),
        _ => None,
    };
    let instructions = match (ins_before, ins_after) {
        (Some(b), Some(a)) => Some(a.saturating_sub(b)),
        _ => None,
    };
    Ok((RunFigures::new(&report, ticks, instructions), unavailable))
}

/// The table printed at the end.
pub fn table(c: &Comparison) -> String {
    let mut out = String::new();
    let cell = |v: Option<f64>, d: usize| fmt_opt(v, d);
    out.push_str(&format!(
        "  {:<22} {:>10} {:>9} {:>9} {:>11} {:>11} {:>11} {:>10}\n",
        "build",
        "req/s",
        "p50 µs",
        "p99 µs",
        "user µs/req",
        "sys µs/req",
        "CPU µs/req",
        "instr/req"
    ));
    for b in &c.builds {
        let m = &b.medians;
        out.push_str(&format!(
            "  {:<22} {:>10.0} {:>9.1} {:>9.1} {:>11} {:>11} {:>11} {:>10}\n",
            b.name,
            m.rps,
            m.p50_us,
            m.p99_us,
            cell(m.user_us_per_request, 3),
            cell(m.system_us_per_request, 3),
            cell(m.cpu_us_per_request, 3),
            cell(m.instructions_per_request, 0)
        ));
    }
    for r in &c.ratios {
        out.push_str(&format!(
            "  {:<22} {:>10.3} {:>9.3} {:>9.3} {:>11} {:>11} {:>11} {:>10}\n",
            format!("{}/{}", r.build, r.baseline),
            r.rps,
            r.p50,
            r.p99,
            cell(r.user_cpu, 3),
            cell(r.system_cpu, 3),
            cell(r.cpu, 3),
            cell(r.instructions, 3)
        ));
    }
    out.push_str(&format!(
        "  medians of {} alternating rounds ({}, {} connections, {:.0} s each{}); ratios are medians of the rounds' ratios\n",
        c.rounds.len(),
        c.driver,
        c.connections,
        c.duration_s,
        if c.pinned { ", server and load on separate CPUs" } else { "" },
    ));
    for (i, r) in c.ratios.iter().enumerate() {
        let per = |f: fn(&Ratios) -> Option<f64>| -> String {
            c.rounds
                .iter()
                .map(|round| cell(f(&round.ratios[i]), 3))
                .collect::<Vec<_>>()
                .join(" ")
        };
        out.push_str(&format!(
            "  {}/{} per round: user CPU {}; req/s {}\n",
            r.build,
            r.baseline,
            per(|r| r.user_cpu),
            per(|r| Some(r.rps))
        ));
    }
    for line in &c.headline {
        out.push_str(&format!("  {line}\n"));
    }
    if c.had_errors {
        out.push_str("  warning: some runs had errors (socket errors or HTTP status >= 400); see the JSON report\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::ErrorCounts;

    fn report(rps: f64) -> LoadReport {
        LoadReport {
            driver: "wrk".into(),
            requests: (rps * 5.0) as u64,
            elapsed_s: 5.0,
            rps,
            p50_us: 1e6 / rps,
            p90_us: 2e6 / rps,
            p99_us: 3e6 / rps,
            max_us: 4e6 / rps,
            errors: ErrorCounts::default(),
        }
    }

    /// A run where the server used `user` and `system` ticks and `ins` instructions.
    fn fig(rps: f64, user: u64, system: u64, ins: Option<u64>) -> RunFigures {
        RunFigures::new(&report(rps), Some(CpuTicks { user, system }), ins)
    }

    fn settings() -> CompareSettings {
        CompareSettings {
            pairs: 3,
            warmup: Duration::from_secs(1),
            load: LoadOptions::default(),
            server_args: Vec::new(),
            server_env: Vec::new(),
            addr: None,
            startup_timeout: Duration::from_secs(1),
            stop_timeout: Duration::from_secs(1),
            echo: false,
        }
    }

    #[test]
    fn per_request_figures_come_from_the_raw_counters() {
        let f = fig(10_000.0, 50, 150, Some(7_000_000));
        let hz = f.ticks_per_s.unwrap() as f64;
        let req = f.requests as f64;
        assert_eq!(f.requests, 50_000);
        let user = f.user_us_per_request.unwrap();
        assert!((user - 50.0 / hz * 1e6 / req).abs() < 1e-9);
        let sys = f.system_us_per_request.unwrap();
        assert!((sys - 150.0 / hz * 1e6 / req).abs() < 1e-9);
        assert!((f.cpu_us_per_request.unwrap() - (user + sys)).abs() < 1e-9);
        assert_eq!(f.instructions_per_request, Some(140.0));
        let none = RunFigures::new(&report(1.0), None, None);
        assert_eq!(none.user_us_per_request, None);
        assert_eq!(none.instructions_per_request, None);
    }

    #[test]
    fn the_report_splits_user_and_kernel_and_says_so() {
        // The case: user space 0.87x, the kernel (78%) unchanged, req/s flat.
        let rounds: Vec<Round> = (1..=3)
            .map(|i| {
                let a = fig(10_000.0, 106, 390, None);
                let b = fig(
                    10_000.0 * (0.98 + 0.001 * i as f64),
                    92 * 98 / 100,
                    390 * 98 / 100,
                    None,
                );
                let ratios = vec![Ratios::of("pgo", &b, "release-fat", &a)];
                Round {
                    round: i,
                    runs: vec![a, b],
                    ratios,
                }
            })
            .collect();
        let c = summarise(
            "wrk",
            &[("release-fat", Path::new("a")), ("pgo", Path::new("b"))],
            &Workload::default_routes(),
            &settings(),
            true,
            rounds,
            Some("this machine has no hardware instruction counter".into()),
        );
        let r = &c.ratios[0];
        let (a, b) = (&c.builds[0].medians, &c.builds[1].medians);
        // Medians of the runs, ratios consistent with them.
        assert!(
            (r.user_cpu.unwrap() - b.user_us_per_request.unwrap() / a.user_us_per_request.unwrap())
                .abs()
                < 0.01
        );
        assert!(r.user_cpu.unwrap() < 0.9, "{r:?}");
        assert!((r.system_cpu.unwrap() - 1.0).abs() < 0.02, "{r:?}");
        assert!((a.kernel_share.unwrap() - 390.0 / 496.0).abs() < 1e-9);
        assert!(b.kernel_share.unwrap() > 0.75, "{b:?}");
        let text = table(&c);
        assert!(
            c.headline[0].starts_with("PGO: user-space CPU per request"),
            "{text}"
        );
        let want = format!("({:.3}x of release-fat, rounds ", r.user_cpu.unwrap());
        assert!(c.headline[0].contains(&want), "{text}");
        assert!(c.headline[0].contains("the kernel"), "{text}");
        let share = format!("{:.0}% of a request's CPU", b.kernel_share.unwrap() * 100.0);
        assert!(c.headline[0].contains(&share), "{text}");
        assert!(
            text.contains("precision: as few as 90 user-space clock ticks in a run"),
            "{text}"
        );
        assert!(
            text.contains("instruction counts: none (this machine has no hardware"),
            "{text}"
        );
        assert!(text.contains("pgo/release-fat"), "{text}");
        // No fixed claim about what PGO cannot change; steady rounds are not called noise.
        assert!(!text.contains("cannot change"), "{text}");
        assert!(!text.contains("cannot tell it from noise"), "{text}");
        assert!(text.contains("rounds 0.864..0.866"), "{text}");
        assert!(
            text.contains("user µs/req") && text.contains("sys µs/req"),
            "{text}"
        );
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["rounds"][1]["runs"][0]["user_ticks"], 106);
        assert!(json["ratios"][0]["user_cpu"].as_f64().unwrap() < 0.9);
        assert_eq!(json["builds"][1]["name"], "pgo");
    }

    #[test]
    fn rounds_that_spread_as_widely_as_the_change_are_called_noise() {
        // User ticks per round: pgo 0.96x, 1.03x, 0.95x of release-fat.
        let rounds: Vec<Round> = [96u64, 103, 95]
            .iter()
            .enumerate()
            .map(|(i, &user)| {
                let a = fig(10_000.0, 100, 400, None);
                let b = fig(10_000.0, user, 400, None);
                let ratios = vec![Ratios::of("pgo", &b, "release-fat", &a)];
                Round {
                    round: i as u32 + 1,
                    runs: vec![a, b],
                    ratios,
                }
            })
            .collect();
        let c = summarise(
            "wrk",
            &[("release-fat", Path::new("a")), ("pgo", Path::new("b"))],
            &Workload::default_routes(),
            &settings(),
            true,
            rounds,
            None,
        );
        let r = &c.ratios[0];
        assert_eq!(r.user_cpu_range, Some((0.95, 1.03)));
        assert!(r.user_cpu_is_noise(), "{r:?}");
        let text = table(&c);
        assert!(
            text.contains("spread over 0.080 (0.950..1.030), as much as the change itself (0.040)"),
            "{text}"
        );
    }
}
