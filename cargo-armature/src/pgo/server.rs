//! The server under test as a child process: started on a free loopback port, waited on
//! until it accepts, stopped with SIGTERM, and its last output kept for error messages.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How many lines of the server's output are kept.
const TAIL_LINES: usize = 30;

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The executable.
    pub exe: PathBuf,
    /// The address it must listen on.
    pub addr: SocketAddr,
    /// Arguments, with `{addr}`, `{host}` and `{port}` replaced.
    pub args: Vec<String>,
    /// Extra environment (`HOST` and `PORT` are always set).
    pub env: Vec<(String, OsString)>,
    /// Pin it to this CPU.
    pub pin_cpu: Option<usize>,
    /// Echo its output as it comes.
    pub echo: bool,
}

/// A free port on 127.0.0.1 (bound, read, released).
pub fn free_loopback_addr() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port on 127.0.0.1")?;
    l.local_addr().context("reading the free port")
}

/// A started server that accepts connections.
pub struct RunningServer {
    child: crate::children::Tracked,
    addr: SocketAddr,
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
}

impl Stopped {
    /// The signal that ended it, if any.
    pub fn signal(&self) -> Option<i32> {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            self.status.signal()
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

impl RunningServer {
    /// Starts the server and waits until it accepts a TCP connection on its address.
    /// Fails, showing its last output, if it exits first or does not listen within
    /// `startup_timeout`.
    pub fn start(spec: &ServerSpec, startup_timeout: Duration) -> Result<RunningServer> {
        let fill = |s: &str| {
            s.replace("{addr}", &spec.addr.to_string())
                .replace("{host}", &spec.addr.ip().to_string())
                .replace("{port}", &spec.addr.port().to_string())
        };
        let mut cmd = Command::new(&spec.exe);
        cmd.args(spec.args.iter().map(|a| fill(a)))
            .env("HOST", spec.addr.ip().to_string())
            .env("PORT", spec.addr.port().to_string())
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
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
                    t.push_back(line);
                }
            }));
        }
        let mut server = RunningServer {
            child,
            addr: spec.addr,
            tail,
            readers,
            started,
        };
        let deadline = started + startup_timeout;
        loop {
            if let Some(status) = server.child.try_wait().context("checking on the server")? {
                let output = server.finish_output();
                bail!(
                    "the server exited before it accepted connections ({}).{}",
                    describe_status(status),
                    show_output(&output)
                );
            }
            if TcpStream::connect_timeout(&spec.addr, Duration::from_millis(200)).is_ok() {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                let _ = server.child.kill();
                let _ = server.child.wait();
                let output = server.finish_output();
                bail!(
                    "the server did not accept connections on {} within {:.0} s. It is given \
                     HOST={} and PORT={}; if it takes its address another way, pass \
                     `--server-arg=--addr --server-arg={{addr}}` (or set `server-args` in \
                     [package.metadata.armature.pgo]).{}",
                    spec.addr,
                    startup_timeout.as_secs_f64(),
                    spec.addr.ip(),
                    spec.addr.port(),
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

    /// Its last lines of output.
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

    /// Sends SIGTERM and waits up to `timeout` for it to exit; kills it (and fails)
    /// when it does not. Returns how it exited and its last output.
    pub fn stop(mut self, timeout: Duration) -> Result<(Stopped, String)> {
        let asked = Instant::now();
        send_sigterm(&self.child);
        let deadline = asked + timeout;
        loop {
            if let Some(status) = self.child.try_wait().context("waiting for the server")? {
                let output = self.finish_output();
                return Ok((
                    Stopped {
                        status,
                        stop_time: asked.elapsed(),
                        lifetime: self.started.elapsed(),
                    },
                    output,
                ));
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let output = self.finish_output();
                bail!(
                    "the server did not exit within {:.0} s of SIGTERM, so it was killed and \
                     wrote no profile. It must stop on SIGTERM by returning from main (armature-core \
                     servers do: `ServerConfig::handle_signals(true)` is the default); \
                     `--stop-timeout` allows a longer drain.{}",
                    timeout.as_secs_f64(),
                    show_output(&output)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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
    #[cfg(unix)]
    {
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill(2) with a pid we own (our child, not yet reaped) and a valid signal.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = child;
    }
}

/// `exit code 3`, `killed by signal 15 (SIGTERM)`, ...
pub fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
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

/// The last output, indented, or a note that there was none.
pub fn show_output(output: &str) -> String {
    if output.trim().is_empty() {
        "\nIt printed nothing.".to_owned()
    } else {
        let lines: Vec<String> = output.lines().map(|l| format!("  | {l}")).collect();
        format!("\nIts last output:\n{}", lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
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

    #[cfg(unix)]
    #[test]
    fn a_server_that_exits_at_once_is_reported_with_its_output() {
        let spec = ServerSpec {
            exe: "/bin/sh".into(),
            addr: free_loopback_addr().unwrap(),
            args: vec!["-c".into(), "echo 'no config' >&2; exit 4".into()],
            env: Vec::new(),
            pin_cpu: None,
            echo: false,
        };
        let err = RunningServer::start(&spec, Duration::from_secs(5))
            .err()
            .expect("must fail");
        let msg = format!("{err:#}");
        assert!(msg.contains("exit code 4"), "{msg}");
        assert!(msg.contains("no config"), "{msg}");
    }
}
