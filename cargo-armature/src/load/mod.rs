//! The load driver: plays a weighted [`Workload`] against a server with `wrk` (a generated
//! Lua script) when installed, or with a built-in tokio + hyper client, and reports
//! throughput, latency percentiles and errors.
//!
//! ```no_run
//! use std::time::Duration;
//! use cargo_armature::load::{Driver, DriverChoice, LoadOptions, Workload};
//! let (driver, note) = Driver::select(DriverChoice::Auto)?;
//! if let Some(note) = note { eprintln!("{note}"); }
//! let opts = LoadOptions { duration: Duration::from_secs(5), ..LoadOptions::default() };
//! let report = driver.run("127.0.0.1:3000".parse()?, &Workload::default_routes(), &opts)?;
//! println!("{report}");
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod access_log;
mod builtin;
mod stats;
pub mod workload;
pub mod wrk;

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

pub use stats::{ErrorCounts, Histogram, LoadReport};
pub use workload::{PgoConfig, RequestSpec, Workload};

use crate::toolchain::{self, WrkTool};

/// What to show while load runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressMode {
    /// Nothing.
    Off,
    /// Requests done, req/s and errors, once a second. With wrk this adds a Lua
    /// `response` hook (some overhead), so measurement runs use [`ProgressMode::Elapsed`].
    #[default]
    Live,
    /// Elapsed time only with wrk; the built-in driver still counts (it costs nothing).
    Elapsed,
}

/// How to drive one load run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// How long to send requests (wrk rounds up to whole seconds).
    pub duration: Duration,
    /// Stop after about this many requests, if sooner than `duration`.
    pub max_requests: Option<u64>,
    /// Concurrent keep-alive connections.
    pub connections: u32,
    /// Driver threads (wrk `-t`); `None`: 1 when pinned or on machines with up to 2 CPUs,
    /// else half of them.
    pub load_threads: Option<u32>,
    /// Give up on one request after this long.
    pub request_timeout: Duration,
    /// What to print while running.
    pub progress: ProgressMode,
    /// A prefix for progress lines.
    pub label: String,
    /// Pin the driver to this CPU (Linux), so that it does not compete with the server.
    pub pin_cpu: Option<usize>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            duration: Duration::from_secs(10),
            max_requests: None,
            connections: 16,
            load_threads: None,
            request_timeout: Duration::from_secs(10),
            progress: ProgressMode::Live,
            label: "load".into(),
            pin_cpu: None,
        }
    }
}

impl LoadOptions {
    fn threads(&self) -> u32 {
        if self.pin_cpu.is_some() {
            // All threads would share the one CPU.
            return self.load_threads.unwrap_or(1);
        }
        self.load_threads.unwrap_or_else(|| {
            let cpus = available_cpus() as u32;
            if cpus <= 2 {
                1
            } else {
                cpus / 2
            }
        })
    }
}

/// Which driver the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DriverChoice {
    /// wrk when it is on PATH, else the built-in driver.
    #[default]
    Auto,
    /// wrk; an error when it is not installed.
    Wrk,
    /// The built-in tokio + hyper driver.
    Builtin,
}

/// A load driver ready to run.
#[derive(Debug, Clone)]
pub enum Driver {
    /// wrk with a generated Lua script.
    Wrk(WrkTool),
    /// The built-in tokio + hyper client.
    Builtin,
}

impl Driver {
    /// Picks the driver for `choice`; the note says why, when `auto` fell back.
    pub fn select(choice: DriverChoice) -> Result<(Driver, Option<String>)> {
        let wrk = toolchain::find_wrk();
        match (choice, wrk) {
            (DriverChoice::Builtin, _) => Ok((Driver::Builtin, None)),
            (DriverChoice::Wrk | DriverChoice::Auto, Some(w)) => Ok((Driver::Wrk(w), None)),
            (DriverChoice::Wrk, None) => bail!(
                "`--driver wrk` was asked for, but wrk is not on PATH; install it \
                 (`apt-get install wrk`, `brew install wrk`) or use `--driver builtin`"
            ),
            (DriverChoice::Auto, None) => Ok((
                Driver::Builtin,
                Some("wrk is not on PATH: using the built-in load driver (tokio + hyper)".into()),
            )),
        }
    }

    /// `wrk` or `builtin`.
    pub fn name(&self) -> &'static str {
        match self {
            Driver::Wrk(_) => "wrk",
            Driver::Builtin => "builtin",
        }
    }

    /// Plays `workload` against `addr`.
    pub fn run(
        &self,
        addr: SocketAddr,
        workload: &Workload,
        opts: &LoadOptions,
    ) -> Result<LoadReport> {
        match self {
            Driver::Wrk(w) => wrk::run(&w.path, addr, workload, opts),
            Driver::Builtin => builtin::run(addr, workload, opts),
        }
    }
}

/// Counters the drivers update while running, for the progress line.
#[derive(Debug, Default)]
pub(crate) struct LiveCounters {
    pub(crate) done: AtomicU64,
    pub(crate) errors: AtomicU64,
}

/// Prints progress once a second on its own thread.
pub(crate) struct Reporter {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    tty: bool,
}

impl Reporter {
    pub(crate) fn start(
        opts: &LoadOptions,
        counters: Arc<LiveCounters>,
        counts: bool,
        started: Instant,
    ) -> Reporter {
        let stop = Arc::new(AtomicBool::new(false));
        let tty = std::io::stderr().is_terminal();
        // Off a terminal a bare clock line a second is only noise in a log (a 5-round
        // comparison printed 150 of them); lines with counts are kept.
        if opts.progress == ProgressMode::Off || (!tty && !counts) {
            return Reporter {
                stop,
                thread: None,
                tty,
            };
        }
        let label = opts.label.clone();
        let total = opts.duration.as_secs_f64();
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut last = (Instant::now(), 0u64);
                loop {
                    std::thread::park_timeout(Duration::from_secs(1));
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let now = Instant::now();
                    let elapsed = now.duration_since(started).as_secs_f64();
                    let line = if counts {
                        let done = counters.done.load(Ordering::Relaxed);
                        let errors = counters.errors.load(Ordering::Relaxed);
                        let rate = (done - last.1.min(done)) as f64
                            / now.duration_since(last.0).as_secs_f64().max(1e-3);
                        last = (now, done);
                        format!(
                            "      {label}: {elapsed:4.1}/{total:.0} s  {done} requests  {rate:.0} req/s  {errors} errors"
                        )
                    } else {
                        format!("      {label}: {elapsed:4.1}/{total:.0} s")
                    };
                    let mut err = std::io::stderr().lock();
                    if tty {
                        let _ = write!(err, "\r\x1b[2K{line}");
                    } else {
                        let _ = writeln!(err, "{line}");
                    }
                    let _ = err.flush();
                }
            })
        };
        Reporter {
            stop,
            thread: Some(thread),
            tty,
        }
    }

    pub(crate) fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
            if self.tty {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            }
        }
    }
}

/// CPUs this process may run on.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Pins the calling thread to one CPU (Linux; elsewhere does nothing). Returns whether it
/// worked.
pub fn pin_current_thread(cpu: usize) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: cpu_set_t is plain data, zeroed is its empty value; CPU_SET and
        // sched_setaffinity only read and write that local set.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpu;
        false
    }
}

/// Makes a command's process start pinned to one CPU (Linux; elsewhere does nothing).
pub fn pin_command_to_cpu(cmd: &mut Command, cpu: usize) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs between fork and exec; it only calls
        // sched_setaffinity (a plain syscall, async-signal-safe) on a local set.
        unsafe {
            cmd.pre_exec(move || {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                // A failure (e.g. the CPU is not allowed here) just leaves it unpinned.
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (cmd, cpu);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A tiny keep-alive server on a thread: answers 200 for `/`, 404 otherwise, and
    /// counts the requests per path.
    fn tiny_server() -> (SocketAddr, Arc<[AtomicU64; 2]>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let h = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { break };
                let h = Arc::clone(&h);
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                            let len: usize = head
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse().unwrap())
                                })
                                .unwrap_or(0);
                            if buf.len() < end + 4 + len {
                                break;
                            }
                            buf.drain(..end + 4 + len);
                            let ok = head.starts_with("GET / ");
                            h[usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
                            let resp: &[u8] = if ok {
                                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                            } else {
                                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                            };
                            if s.write_all(resp).is_err() {
                                return;
                            }
                        }
                        match s.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                });
            }
        });
        (addr, hits)
    }

    fn mix() -> Workload {
        let mut missing = RequestSpec::get("/missing");
        missing.method = "POST".into();
        missing.body = b"hello".to_vec();
        Workload {
            source: "test".into(),
            requests: vec![RequestSpec::get("/"), RequestSpec::get("/"), missing],
        }
    }

    #[test]
    fn builtin_driver_plays_the_mix_and_stops_at_the_request_limit() {
        let (addr, hits) = tiny_server();
        let opts = LoadOptions {
            duration: Duration::from_secs(20),
            max_requests: Some(300),
            connections: 4,
            progress: ProgressMode::Off,
            ..LoadOptions::default()
        };
        let r = Driver::Builtin.run(addr, &mix(), &opts).unwrap();
        assert_eq!(r.requests, 300, "{r:?}");
        assert!(r.elapsed_s < 10.0, "bounded by the count, not the duration");
        assert_eq!(r.errors.http, 100, "one in three is a 404: {r:?}");
        assert_eq!(r.errors.socket(), 0);
        assert_eq!(hits[0].load(Ordering::Relaxed), 200);
        assert!(r.p50_us > 0.0 && r.p99_us >= r.p50_us);
    }

    #[test]
    fn builtin_driver_stops_at_the_duration() {
        let (addr, _) = tiny_server();
        let opts = LoadOptions {
            duration: Duration::from_millis(500),
            connections: 2,
            progress: ProgressMode::Off,
            ..LoadOptions::default()
        };
        let t = Instant::now();
        let r = Driver::Builtin
            .run(addr, &Workload::default_routes(), &opts)
            .unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(r.requests > 0);
    }

    #[test]
    fn builtin_driver_counts_connect_errors() {
        // A port nobody listens on.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let opts = LoadOptions {
            duration: Duration::from_millis(200),
            connections: 1,
            progress: ProgressMode::Off,
            ..LoadOptions::default()
        };
        let r = Driver::Builtin
            .run(addr, &Workload::default_routes(), &opts)
            .unwrap();
        assert_eq!(r.requests, 0);
        assert!(r.errors.connect > 0);
    }

    #[test]
    fn wrk_driver_plays_the_mix() {
        let Some(wrk) = toolchain::find_wrk() else {
            eprintln!("wrk not installed: skipping");
            return;
        };
        let (addr, hits) = tiny_server();
        let opts = LoadOptions {
            duration: Duration::from_secs(1),
            max_requests: Some(600),
            connections: 2,
            progress: ProgressMode::Off,
            ..LoadOptions::default()
        };
        let r = Driver::Wrk(wrk).run(addr, &mix(), &opts).unwrap();
        assert_eq!(r.driver, "wrk");
        assert!(r.requests >= 600 && r.requests < 700, "{r:?}");
        let ok = hits[0].load(Ordering::Relaxed) as f64;
        let missing = hits[1].load(Ordering::Relaxed) as f64;
        assert!(
            (ok / missing - 2.0).abs() < 0.2,
            "2:1 mix, got {ok}:{missing}"
        );
        assert!(r.errors.http > 0);
    }
}
