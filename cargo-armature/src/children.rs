//! The processes cargo-armature starts (cargo, the server under load, wrk, llvm-bolt,
//! llvm-profdata), and how they end with it.
//!
//! A `cargo armature pgo` run is a tree: cargo and its rustc and build scripts, the
//! server, the load driver. A terminal's Ctrl-C reaches all of them (they share its
//! foreground process group), but a SIGTERM sent to cargo-armature alone (a CI
//! timeout, `kill PID`, a supervisor) used to end only cargo-armature and leave a
//! `cargo build` or a server running behind it.
//!
//! So every long-running child is started by [`spawn`] or [`output`]: in a process
//! group of its own (cargo's rustc and build scripts join it), registered here. The
//! thread [`install`] starts takes SIGINT, SIGTERM and SIGHUP for the whole process,
//! sends SIGTERM to every registered group and records the signal. The main thread
//! then unwinds normally: the child it waits on ends, its error reaches `main`,
//! temporary directories are removed on the way, and [`interrupted`] tells `main` to
//! exit with 128 + the signal. No new child starts after the signal. A run that has
//! not finished [`GRACE`] after it is ended anyway: SIGKILL to the groups left, exit.
//!
//! signal-hook gives the signal thread (a self-pipe, so the handler itself only
//! writes a byte); the process groups are plain `setpgid` via `CommandExt`.

pub mod sockets;

use std::collections::BTreeSet;
use std::io;
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the main thread gets to stop its children and clean up after a signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// Process groups (= the child's pid) of the children running now.
static GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// The signal that interrupted the run, 0 while none has.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Takes SIGINT, SIGTERM and SIGHUP on a thread of its own (see the module docs).
/// Call once, early in `main`; without it a signal ends cargo-armature at once, as
/// any process, and its children are left to themselves.
pub fn install() -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                SIGNAL.store(sig, Ordering::SeqCst);
                signal_groups(libc::SIGTERM);
                let deadline = Instant::now() + GRACE;
                while Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
                // The main thread is stuck (or ignores its children's end): end it.
                signal_groups(libc::SIGKILL);
                eprintln!(
                    "cargo armature: still running {} s after {}; stopped",
                    GRACE.as_secs(),
                    signal_name(sig)
                );
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

/// The signal that interrupted this run, if one did.
pub fn interrupted() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// `SIGTERM`, `SIGINT`, ... for messages.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGKILL => "SIGKILL".into(),
        other => format!("signal {other}"),
    }
}

fn signal_groups(sig: i32) {
    let groups: Vec<i32> = GROUPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .collect();
    for pgid in groups {
        // SAFETY: kill(2) on a process group we created (negative pid) with a valid
        // signal; a group that is already gone gives ESRCH, which is fine.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

fn refuse_after_signal() -> io::Result<()> {
    match interrupted() {
        None => Ok(()),
        Some(sig) => Err(io::Error::new(
            io::ErrorKind::Interrupted,
            format!(
                "not started: cargo armature was stopped by {}",
                signal_name(sig)
            ),
        )),
    }
}

/// A child started by [`spawn`]: a [`Child`] (through `Deref`) whose process group
/// is signalled when cargo-armature is, until it is dropped.
#[derive(Debug)]
pub struct Tracked {
    child: Child,
    pgid: i32,
}

impl std::ops::Deref for Tracked {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl std::ops::DerefMut for Tracked {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        GROUPS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.pgid);
    }
}

/// Starts `cmd` in a process group of its own, signalled with cargo-armature (see the
/// module docs). Fails without starting it once a signal has arrived.
pub fn spawn(cmd: &mut Command) -> io::Result<Tracked> {
    use std::os::unix::process::CommandExt;
    refuse_after_signal()?;
    cmd.process_group(0);
    // Registered under the lock the signal thread takes, so a signal cannot fall
    // between the start and the registration unnoticed.
    let mut groups = GROUPS.lock().unwrap_or_else(|e| e.into_inner());
    let child = cmd.spawn()?;
    let pgid = i32::try_from(child.id()).expect("pids fit in i32");
    groups.insert(pgid);
    drop(groups);
    if interrupted().is_some() {
        // The signal came while it was starting: the thread may have missed it.
        // SAFETY: as in `signal_groups`.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
    }
    Ok(Tracked { child, pgid })
}

/// [`Command::output`] through [`spawn`]: stdout and stderr captured, stdin closed.
pub fn output(cmd: &mut Command) -> io::Result<Output> {
    use std::io::Read;
    use std::process::Stdio;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = spawn(cmd)?;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    // Both pipes drained at once, as `Command::output` does, so neither can fill up.
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).map(|_| buf)
    });
    let mut out = Vec::new();
    stdout.read_to_end(&mut out)?;
    let err = stderr_reader.join().expect("the reader does not panic")?;
    let status = child.wait()?;
    Ok(Output {
        status,
        stdout: out,
        stderr: err,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spawned_child_is_registered_until_dropped() {
        let mut child = spawn(Command::new("sleep").arg("5")).unwrap();
        let pgid = child.id() as i32;
        assert!(GROUPS.lock().unwrap().contains(&pgid));
        // Its own process group.
        // SAFETY: getpgid(2) on our child's pid.
        assert_eq!(unsafe { libc::getpgid(pgid) }, pgid);
        child.kill().unwrap();
        child.wait().unwrap();
        drop(child);
        assert!(!GROUPS.lock().unwrap().contains(&pgid));
    }

    #[test]
    fn output_captures_and_unregisters() {
        let out =
            output(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"])).unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    }
}
