//! The server under test as a child process: started on a free loopback port (or the
//! address it insists on, found through `/proc`), waited on until it accepts, stopped
//! with SIGTERM (SIGKILL after the stop timeout), and its command and last output kept
//! for error messages.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How many lines of the server's output are kept and shown.
const TAIL_LINES: usize = 20;

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The executable.
    pub exe: PathBuf,
    /// The address it is asked to listen on (`HOST`, `PORT`, `{addr}`...).
    pub addr: SocketAddr,
    /// Whether `addr` is where it listens by itself (`--addr`, or found by an earlier
    /// run): then the port must be free before it starts, and nothing else is searched.
    /// When not, a server that listens elsewhere is found in `/proc` and used there.
    pub fixed: bool,
    /// Arguments, with `{addr}`, `{host}` and `{port}` replaced.
    pub args: Vec<String>,
    /// Extra environment (`HOST` and `PORT` are always set).
    pub env: Vec<(String, OsString)>,
    /// Pin it to this CPU.
    pub pin_cpu: Option<usize>,
    /// Echo its output as it comes.
    pub echo: bool,
}

impl ServerSpec {
    /// A spec for `exe` at `addr` (`--addr` or an address found earlier), else on a free
    /// loopback port.
    pub fn new(exe: PathBuf, addr: Option<SocketAddr>) -> Result<ServerSpec> {
        Ok(ServerSpec {
            exe,
            fixed: addr.is_some(),
            addr: match addr {
                Some(a) => a,
                None => free_loopback_addr()?,
            },
            args: Vec::new(),
            env: Vec::new(),
            pin_cpu: None,
            echo: false,
        })
    }

    /// The arguments as the server gets them.
    pub fn filled_args(&self) -> Vec<String> {
        let fill = |s: &str| {
            s.replace("{addr}", &self.addr.to_string())
                .replace("{host}", &self.addr.ip().to_string())
                .replace("{port}", &self.addr.port().to_string())
        };
        self.args.iter().map(|a| fill(a)).collect()
    }

    /// The environment it gets on top of ours.
    pub fn filled_env(&self) -> Vec<(String, OsString)> {
        [
            (
                "HOST".to_owned(),
                OsString::from(self.addr.ip().to_string()),
            ),
            ("PORT".to_owned(), self.addr.port().to_string().into()),
        ]
        .into_iter()
        .chain(self.env.iter().cloned())
        .collect()
    }

    /// The command line, environment first, as a shell would take it.
    pub fn command_line(&self) -> String {
        let mut parts: Vec<String> = self
            .filled_env()
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(&v.to_string_lossy())))
            .collect();
        parts.push(shell_quote(&self.exe.to_string_lossy()));
        parts.extend(self.filled_args().iter().map(|a| shell_quote(a)));
        parts.join(" ")
    }
}

fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+{}[]".contains(&b));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A free port on 127.0.0.1 (bound, read, released).
pub fn free_loopback_addr() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port on 127.0.0.1")?;
    l.local_addr().context("reading the free port")
}

/// Fails, naming the port and who holds it, when `addr` is taken.
pub fn ensure_free(addr: SocketAddr) -> Result<()> {
    match TcpListener::bind(addr) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let who: Vec<String> = crate::children::sockets::holders(addr.port())
                .into_iter()
                .map(|(pid, comm)| format!("pid {pid} (`{comm}`)"))
                .collect();
            bail!(
                "port {} ({addr}) is already in use{} before the server starts; stop that \
                 process, or give the server another address (`--addr HOST:PORT`, or \
                 `--server-arg` for its own flag)",
                addr.port(),
                if who.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", who.join(", "))
                }
            )
        }
        _ => Ok(()),
    }
}

/// A started server that accepts connections.
pub struct RunningServer {
    child: crate::children::Tracked,
    addr: SocketAddr,
    found_elsewhere: bool,
    command: String,
    tail: Arc<Mutex<VecDeque<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    started: Instant,
}

/// How the server ended.
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    /// Its exit status.
    pub status: ExitStatus,
    /// From SIGTERM to exit.
    pub stop_time: Duration,
    /// From start to exit.
    pub lifetime: Duration,
    /// Whether it was still running at the stop timeout and had to be killed (SIGKILL).
    pub forced: bool,
}

impl Stopped {
    /// The signal that ended it, if any.
    pub fn signal(&self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        self.status.signal()
    }
}

impl RunningServer {
    /// Starts the server and waits until it accepts a TCP connection: on its address,
    /// or, unless the spec's address is fixed, wherever its process tree listens. Fails,
    /// showing the command and its last output, if it exits first or does not listen
    /// within `startup_timeout`.
    pub fn start(spec: &ServerSpec, startup_timeout: Duration) -> Result<RunningServer> {
        if spec.fixed {
            ensure_free(spec.addr)?;
        }
        let mut cmd = Command::new(&spec.exe);
        cmd.args(spec.filled_args())
            .envs(spec.filled_env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(cpu) = spec.pin_cpu {
            crate::load::pin_command_to_cpu(&mut cmd, cpu);
        }
        let started = Instant::now();
        let mut child = crate::children::spawn(&mut cmd)
            .with_context(|| format!("starting {}", spec.exe.display()))?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut readers = Vec::new();
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("piped"));
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("piped"));
        for stream in [out, err] {
            let tail = Arc::clone(&tail);
            let echo = spec.echo;
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if echo {
                        eprintln!("      server: {line}");
                    }
                    let mut t = tail.lock().expect("not poisoned");
                    if t.len() == TAIL_LINES {
                        t.pop_front();
                    }
                    t.push_back(crate::cargo::strip_ansi(&line));
                }
            }));
        }
        let mut server = RunningServer {
            child,
            addr: spec.addr,
            found_elsewhere: false,
            command: spec.command_line(),
            tail,
            readers,
            started,
        };
        let deadline = started + startup_timeout;
        // A server listening elsewhere is taken once two looks agree (it may still be
        // opening the asked address after another one).
        let mut seen_elsewhere: Vec<SocketAddr> = Vec::new();
        loop {
            if let Some(status) = server.child.try_wait().context("checking on the server")? {
                let output = server.finish_output();
                bail!(
                    "the server exited before it accepted connections ({}).{}{}{}",
                    describe_status(status),
                    server.show_command(),
                    show_output(&output),
                    early_exit_hint(&output)
                );
            }
            if TcpStream::connect_timeout(&spec.addr, Duration::from_millis(200)).is_ok() {
                return Ok(server);
            }
            if !spec.fixed {
                let now = crate::children::sockets::listening(server.pid());
                // Its asked port among them: it is coming up where asked.
                let asked = now.iter().any(|a| a.port() == spec.addr.port());
                if !now.is_empty() && !asked && now == seen_elsewhere {
                    let target = crate::children::sockets::connectable(now[0]);
                    if TcpStream::connect_timeout(&target, Duration::from_millis(200)).is_ok() {
                        eprintln!(
                            "      the server does not listen on {} (HOST/PORT, {{addr}}) but on \
                             {}: training there (`--addr {target}` names it outright)",
                            spec.addr,
                            now.iter()
                                .map(|a| a.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                        server.addr = target;
                        server.found_elsewhere = true;
                        return Ok(server);
                    }
                }
                seen_elsewhere = now;
            }
            if Instant::now() >= deadline {
                let _ = server.child.kill();
                let _ = server.child.wait();
                let output = server.finish_output();
                let how = if spec.fixed {
                    format!("on {}", spec.addr)
                } else {
                    format!(
                        "on {} nor on any other TCP address (its processes had no listening \
                         socket)",
                        spec.addr
                    )
                };
                bail!(
                    "the server did not accept connections {how} within {:.0} s. If it takes \
                     its address another way, pass it with one `--server-arg` per word, e.g. \
                     `--server-arg=--port --server-arg={{port}}` (or set `server-args` in \
                     [package.metadata.armature.pgo]); `--addr HOST:PORT` names a fixed \
                     address; `--startup-timeout` allows a slower start.{}{}",
                    startup_timeout.as_secs_f64(),
                    server.show_command(),
                    show_output(&output)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it was found listening elsewhere than it was asked to.
    pub fn found_elsewhere(&self) -> bool {
        self.found_elsewhere
    }

    /// `\nCommand: ...`, for error messages.
    pub fn show_command(&self) -> String {
        format!("\nCommand: {}", self.command)
    }

    /// Whether it has exited on its own; its status if so.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait().context("checking on the server")
    }

    /// User and system CPU ticks it has used so far (Linux `/proc`), if readable.
    pub fn cpu_ticks(&self) -> Option<super::counters::CpuTicks> {
        super::counters::CpuTicks::of(self.child.id())
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its last lines of output (escape codes removed).
    pub fn output_tail(&self) -> String {
        let t = self.tail.lock().expect("not poisoned");
        t.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    fn finish_output(&mut self) -> String {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.output_tail()
    }

    /// Sends SIGTERM and waits up to `timeout` for it to exit; kills it (SIGKILL) when
    /// it does not, which [`Stopped::forced`] tells. Returns how it exited and its
    /// last output.
    pub fn stop(mut self, timeout: Duration) -> Result<(Stopped, String)> {
        let asked = Instant::now();
        send_sigterm(&self.child);
        let deadline = asked + timeout;
        let mut forced = false;
        loop {
            if let Some(status) = self.child.try_wait().context("waiting for the server")? {
                let output = self.finish_output();
                return Ok((
                    Stopped {
                        status,
                        stop_time: asked.elapsed(),
                        lifetime: self.started.elapsed(),
                        forced,
                    },
                    output,
                ));
            }
            if !forced && Instant::now() >= deadline {
                let _ = self.child.kill();
                forced = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The hint for a server that exits before it listens: most often an argument it did
/// not understand, or its address taken.
fn early_exit_hint(output: &str) -> String {
    let in_use = output.contains("Address already in use") || output.contains("os error 98");
    if in_use {
        "\nIts address is in use (EADDRINUSE): another process holds the port it binds. \
         Stop that process, or move the server with `--server-arg` or `--addr`."
            .to_owned()
    } else {
        "\nIf it needs arguments, pass one `--server-arg` per word: `--server-arg=--port \
         --server-arg={port}`, not `--server-arg \"--port {port}\"` (one argument with a \
         space); `--server-env KEY=VALUE` sets its environment."
            .to_owned()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // Never leave a server behind when a phase fails half-way.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn send_sigterm(child: &Child) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with a pid we own (our child, not yet reaped) and a valid signal.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

/// `exit code 3`, `killed by signal 15 (SIGTERM)`, ...
pub fn describe_status(status: ExitStatus) -> String {
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            let name = match sig {
                libc::SIGTERM => " (SIGTERM)",
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGABRT => " (SIGABRT: a panic with panic=abort, or abort())",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGINT => " (SIGINT)",
                _ => "",
            };
            return format!("killed by signal {sig}{name}");
        }
    }
    match status.code() {
        Some(c) => format!("exit code {c}"),
        None => status.to_string(),
    }
}

/// The last output (at most [`TAIL_LINES`] lines, escape codes removed), indented, or a
/// note that there was none.
pub fn show_output(output: &str) -> String {
    if output.trim().is_empty() {
        "\nIt printed nothing.".to_owned()
    } else {
        let all: Vec<&str> = output.lines().collect();
        let lines: Vec<String> = all[all.len().saturating_sub(TAIL_LINES)..]
            .iter()
            .map(|l| format!("  | {}", crate::cargo::strip_ansi(l)))
            .collect();
        format!("\nIts last output:\n{}", lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_exit_statuses() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(describe_status(ExitStatus::from_raw(3 << 8)), "exit code 3");
        assert_eq!(
            describe_status(ExitStatus::from_raw(15)),
            "killed by signal 15 (SIGTERM)"
        );
        assert!(show_output("").contains("printed nothing"));
        assert!(show_output("a\nb").contains("  | b"));
    }

    #[test]
    fn a_server_that_exits_at_once_is_reported_with_its_command_and_output() {
        let mut spec = ServerSpec::new("/bin/sh".into(), None).unwrap();
        // 30 lines of coloured output, then a failure.
        spec.args = vec![
            "-c".into(),
            "for i in $(seq 1 30); do printf '\\033[31mline %s\\033[0m\\n' $i >&2; done; \
             echo 'no config' >&2; exit 4"
                .into(),
        ];
        spec.env = vec![("MODE".into(), "a b".into())];
        let err = RunningServer::start(&spec, Duration::from_secs(5))
            .err()
            .expect("must fail");
        let msg = format!("{err:#}");
        assert!(msg.contains("exit code 4"), "{msg}");
        assert!(msg.contains("no config"), "{msg}");
        assert!(!msg.contains('\x1b'), "escape codes left: {msg}");
        assert!(
            msg.contains("  | line 30") && !msg.contains("  | line 11\n"),
            "{msg}"
        );
        assert_eq!(msg.matches("  | ").count(), TAIL_LINES, "{msg}");
        let command = format!(
            "Command: HOST=127.0.0.1 PORT={} MODE='a b' /bin/sh -c 'for i",
            spec.addr.port()
        );
        assert!(msg.contains(&command), "{msg}");
        assert!(
            msg.contains("--server-arg=--port --server-arg={port}"),
            "{msg}"
        );
    }

    #[test]
    fn a_fixed_port_in_use_is_named_before_the_server_starts() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap();
        let mut spec = ServerSpec::new("/bin/true".into(), Some(addr)).unwrap();
        spec.args = Vec::new();
        let err = RunningServer::start(&spec, Duration::from_secs(5))
            .err()
            .expect("must fail");
        let msg = format!("{err:#}");
        assert!(
            msg.contains(&format!("port {} ({addr}) is already in use", addr.port())),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
    }
}
