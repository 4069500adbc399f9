//! What a server costs per request, from the kernel's own counters: user and system
//! CPU time (`/proc/PID/stat`), and hardware instruction counts in user space
//! (`perf_event_open`) where the machine has them.

use std::time::Duration;

/// User and system CPU time of a process, in clock ticks (`/proc/PID/stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTicks {
    /// `utime`: user space (the server's code: what PGO and BOLT can change).
    pub user: u64,
    /// `stime`: the kernel on its behalf (TCP, syscalls).
    pub system: u64,
}

impl CpuTicks {
    /// Reads `/proc/<pid>/stat` (Linux).
    pub fn of(pid: u32) -> Option<CpuTicks> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        CpuTicks::parse(&stat)
    }

    /// Parses a `/proc/PID/stat` line.
    pub fn parse(stat: &str) -> Option<CpuTicks> {
        // The command name (field 2) may contain spaces; fields after it follow the last ')'.
        let rest = stat.get(stat.rfind(')')? + 2..)?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // rest starts at field 3 (state); utime and stime are fields 14 and 15.
        Some(CpuTicks {
            user: fields.get(11)?.parse().ok()?,
            system: fields.get(12)?.parse().ok()?,
        })
    }

    /// Ticks used between `earlier` and `self`.
    pub fn since(self, earlier: CpuTicks) -> CpuTicks {
        CpuTicks {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }

    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
    pub fn per_second() -> Option<u64> {
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        u64::try_from(ticks).ok().filter(|t| *t > 0)
    }

    /// User + system, as a duration.
    pub fn total(self) -> Option<Duration> {
        let hz = CpuTicks::per_second()?;
        Some(Duration::from_secs_f64(
            (self.user + self.system) as f64 / hz as f64,
        ))
    }
}

/// Hardware instruction counters (user space only) on every thread of a process.
#[derive(Debug)]
pub struct Instructions {
    fds: Vec<libc::c_int>,
}

/// `struct perf_event_attr` up to `bp_len` (`PERF_ATTR_SIZE_VER1`, 72 bytes); the
/// kernel takes any published size.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    bp_addr: u64,
    bp_len: u64,
}

const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_COUNT_HW_INSTRUCTIONS: u64 = 1;
const EXCLUDE_KERNEL: u64 = 1 << 5;
const EXCLUDE_HV: u64 = 1 << 6;

impl Instructions {
    /// Opens a counter of user-space instructions on each thread of `pid`, or says in
    /// words why the machine cannot count them.
    pub fn attach(pid: u32) -> Result<Instructions, String> {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map_err(|e| format!("cannot list the threads of process {pid}: {e}"))?;
        let mut counters = Instructions { fds: Vec::new() };
        for task in tasks.flatten() {
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<i32>().ok())
            else {
                continue;
            };
            counters.fds.push(open_counter(tid)?);
        }
        if counters.fds.is_empty() {
            return Err(format!("process {pid} has no threads to count"));
        }
        Ok(counters)
    }

    /// Instructions counted so far, summed over the threads.
    pub fn read(&self) -> Option<u64> {
        let mut sum = 0u64;
        for fd in &self.fds {
            let mut value = 0u64;
            // SAFETY: reading 8 bytes into a u64 from a perf event fd we own.
            let n = unsafe { libc::read(*fd, (&raw mut value).cast(), 8) };
            if n != 8 {
                return None;
            }
            sum += value;
        }
        Some(sum)
    }
}

impl Drop for Instructions {
    fn drop(&mut self) {
        for fd in &self.fds {
            // SAFETY: closing a file descriptor we opened and own.
            unsafe { libc::close(*fd) };
        }
    }
}

#[cfg(target_os = "linux")]
fn open_counter(tid: i32) -> Result<libc::c_int, String> {
    let attr = PerfEventAttr {
        kind: PERF_TYPE_HARDWARE,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config: PERF_COUNT_HW_INSTRUCTIONS,
        flags: EXCLUDE_KERNEL | EXCLUDE_HV,
        ..PerfEventAttr::default()
    };
    // SAFETY: perf_event_open(2) with a valid attr struct of the size it declares.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &raw const attr,
            tid,
            -1 as libc::c_int,
            -1 as libc::c_int,
            0 as libc::c_ulong,
        )
    };
    if fd >= 0 {
        return libc::c_int::try_from(fd).map_err(|_| "perf_event_open: bad fd".to_owned());
    }
    let err = std::io::Error::last_os_error();
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    Err(match err.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::EOPNOTSUPP) | Some(libc::ENODEV) => format!(
            "this machine has no hardware instruction counter (perf_event_open: {err}; \
             a VM without a virtual PMU?)"
        ),
        Some(libc::EACCES) | Some(libc::EPERM) => format!(
            "not allowed to read hardware counters (perf_event_open: {err}; \
             kernel.perf_event_paranoid = {paranoid})"
        ),
        _ => format!("cannot count instructions (perf_event_open: {err})"),
    })
}

#[cfg(not(target_os = "linux"))]
fn open_counter(_tid: i32) -> Result<libc::c_int, String> {
    Err("instruction counts need Linux's perf_event_open".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let line = "42 (my server) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 1 2 3";
        assert_eq!(
            CpuTicks::parse(line),
            Some(CpuTicks {
                user: 250,
                system: 75
            })
        );
        assert_eq!(CpuTicks::parse("garbage"), None);
        let later = CpuTicks {
            user: 300,
            system: 80,
        };
        assert_eq!(
            later.since(CpuTicks::parse(line).unwrap()),
            CpuTicks {
                user: 50,
                system: 5
            }
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_own_ticks_and_counts_or_explains() {
        assert!(CpuTicks::of(std::process::id()).is_some());
        match Instructions::attach(std::process::id()) {
            Ok(c) => {
                let a = c.read().expect("readable");
                let mut x = 0u64;
                for i in 0..100_000u64 {
                    x = x.wrapping_add(std::hint::black_box(i));
                }
                assert!(x > 0);
                assert!(c.read().expect("readable") > a);
            }
            Err(why) => assert!(why.contains("perf_event_open"), "{why}"),
        }
    }
}
