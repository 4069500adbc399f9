//! Helpers: run the binary, temporary projects kept on failure, the shared
//! target directory of generated apps, and a tiny HTTP probe.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_cargo-armature");

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// One target directory shared by every generated app (and test project), so
/// their common dependencies compile once.
pub fn shared_target_dir() -> PathBuf {
    workspace_root().join("target/generated-apps")
}

/// Makes sure the workspace's dependencies are in cargo's cache (a no-op when
/// they are, as after any build in this repository). Generated apps then build
/// offline: that is the promise under test.
pub fn ensure_workspace_fetched() {
    static FETCH: std::sync::Once = std::sync::Once::new();
    FETCH.call_once(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .args(["fetch", "--manifest-path"])
            .arg(workspace_root().join("Cargo.toml"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "cargo fetch failed:\n{}", dump(&out));
    });
}

/// A `Command` with a predictable environment: no inherited rustflags, no
/// colours, offline, the shared target directory, and this binary first on
/// `PATH` so that `cargo armature` and the aliases find it.
pub fn command(program: impl AsRef<OsStr>, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin_dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    cmd.current_dir(cwd)
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TERM_COLOR", "never")
        .env("COLUMNS", "100")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CRITERION_HOME")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS");
    cmd
}

/// `cargo-armature armature ARGS` in `cwd`, as cargo would run it.
pub fn armature(cwd: &Path, args: &[&str]) -> Output {
    let mut cmd = command(BIN, cwd);
    cmd.arg("armature").args(args);
    output(cmd)
}

/// `cargo ARGS` in `cwd`.
pub fn cargo(cwd: &Path, args: &[&str]) -> Output {
    cargo_env(cwd, args, &[])
}

/// `cargo ARGS` in `cwd` with more environment variables.
pub fn cargo_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(
        std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
        cwd,
    );
    cmd.args(args).envs(env.iter().copied());
    output(cmd)
}

fn output(mut cmd: Command) -> Output {
    let shown = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"))
}

/// Panics with the full output unless `out` succeeded; returns its stdout.
#[track_caller]
pub fn success(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed ({}):\n{}",
        out.status,
        dump(out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stdout and stderr of `out`, for failure messages.
pub fn dump(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A temporary directory that is kept, and its path printed, when the test
/// fails.
pub struct TempProject {
    dir: Option<tempfile::TempDir>,
}

impl TempProject {
    /// A fresh empty directory.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("armature-cli-test-")
            .tempdir()
            .unwrap();
        Self { dir: Some(dir) }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }
}

impl Drop for TempProject {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let kept = self.dir.take().unwrap().keep();
            eprintln!("test project kept at {}", kept.display());
        }
    }
}

/// Every file below `dir` (relative, sorted), skipping `.git/` contents.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                if rel == ".git" {
                    out.push(".git/".into());
                } else {
                    walk(root, &path, out);
                }
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every file below `dir` with its contents, to check that nothing changed.
pub fn snapshot_contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .filter(|p| !p.ends_with('/'))
        .map(|p| {
            let bytes = std::fs::read(dir.join(&p)).unwrap();
            (p, bytes)
        })
        .collect()
}

/// `GET path` over a fresh connection; the status code.
pub fn http_get_status(addr: SocketAddr, path: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(&mut stream).read_line(&mut line).unwrap();
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"))
}

/// `METHOD path` with an optional JSON body over a fresh connection; the
/// status code and the body.
pub fn http(addr: SocketAddr, method: &str, path: &str, json: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = json.unwrap_or("");
    let content_type = if json.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{content_type}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {response:?}"));
    (status, body.to_owned())
}

/// A generated app's binary running as a child process.
pub struct RunningApp {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl RunningApp {
    /// Starts `binary` on `127.0.0.1:0` (HOST/PORT) with `env` added, reads the
    /// address from its `listening on http://ADDR` line and waits until it
    /// accepts connections.
    pub fn start_with(binary: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(binary)
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in the first line of stderr: {line:?}"));
        // Keep draining stderr so the app never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
        });
        // The line comes once the address is bound; the sockets listen once
        // every worker has built its state (a database connection, say).
        let start = Instant::now();
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("{} exited ({status}) before it listened", binary.display());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{} did not listen on {addr} within 30 s",
                binary.display()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        Self { child, addr }
    }

    /// Sends SIGTERM and waits (at most `limit`) for the app to exit; whether
    /// it exited successfully.
    pub fn terminate(mut self, limit: Duration) -> bool {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success(), "kill -TERM {pid} failed");
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the app did not stop within {limit:?} of SIGTERM");
    }
}

impl RunningApp {
    /// SIGKILL (`kill -9`): no drain, no clean-up, as a crash.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
