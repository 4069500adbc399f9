//! The TCP sockets a process tree listens on, read from Linux `/proc`: the tree from
//! `/proc/PID/task/TID/children`, each process's socket inodes from `/proc/PID/fd`, and
//! the listening ones (state `0A`) from `/proc/net/tcp` and `/proc/net/tcp6`.
//!
//! Used to find a server that listens somewhere else than it was asked to (a
//! hard-coded port), and who holds a port that is already taken.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `pid` and every process below it.
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for t in tasks.flatten() {
                let Ok(children) = std::fs::read_to_string(t.path().join("children")) else {
                    continue;
                };
                for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
            }
        }
        i += 1;
    }
    out
}

/// The socket inodes `pid` has open (`/proc/PID/fd/N -> socket:[INODE]`).
fn socket_inodes(pid: u32) -> Vec<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy();
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// Every listening TCP socket of this network namespace: `(address, inode)`.
fn listening_table() -> Vec<(SocketAddr, u64)> {
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            out.extend(parse_table(&text));
        }
    }
    out
}

/// The LISTEN rows of a `/proc/net/tcp{,6}` table.
fn parse_table(text: &str) -> Vec<(SocketAddr, u64)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() < 10 || f[3] != "0A" {
                return None;
            }
            Some((parse_addr(f[1])?, f[9].parse().ok()?))
        })
        .collect()
}

/// `0100007F:0BB8` (IPv4) or 32 hex digits and a port (IPv6): the address words are in
/// the kernel's byte order (little-endian here), the port in big-endian hex.
fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |h: &str| u32::from_str_radix(h, 16).ok().map(u32::swap_bytes);
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(ip)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(&ip[8 * i..8 * i + 8])?.to_be_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The TCP addresses the process tree of `pid` listens on, sorted, IPv4 first.
pub fn listening(pid: u32) -> Vec<SocketAddr> {
    let inodes: BTreeSet<u64> = process_tree(pid)
        .into_iter()
        .flat_map(socket_inodes)
        .collect();
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<SocketAddr> = listening_table()
        .into_iter()
        .filter(|(_, inode)| inodes.contains(inode))
        .map(|(a, _)| a)
        .collect();
    out.sort_by_key(|a| (a.is_ipv6(), a.port(), a.ip()));
    out.dedup();
    out
}

/// Where a client connects to reach a socket listening on `addr`: the loopback address
/// for a wildcard one.
pub fn connectable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

/// The processes (pid, command name) that listen on TCP port `port`, on any address.
pub fn holders(port: u16) -> Vec<(u32, String)> {
    let inodes: BTreeSet<u64> = listening_table()
        .into_iter()
        .filter(|(a, _)| a.port() == port)
        .map(|(_, i)| i)
        .collect();
    if inodes.is_empty() {
        return Vec::new();
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<(u32, String)> = procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| socket_inodes(pid).iter().any(|i| inodes.contains(i)))
        .map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            (pid, comm.trim().to_owned())
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_tables() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
                  0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0\n\
                  1: 0100007F:0BB9 0100007F:A000 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1 0 100 0 0 10 0\n";
        assert_eq!(
            parse_table(v4),
            vec![("127.0.0.1:3000".parse().unwrap(), 4242)]
        );
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
                  0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0 100 0 0 10 0\n\
                  1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 78 1 0 100 0 0 10 0\n";
        assert_eq!(
            parse_table(v6),
            vec![
                ("[::1]:8080".parse().unwrap(), 77),
                ("[::]:80".parse().unwrap(), 78)
            ]
        );
    }

    #[test]
    fn finds_this_process_listening_and_holding_its_port() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert!(
            listening(std::process::id()).contains(&addr),
            "{:?}",
            listening(std::process::id())
        );
        let pid = std::process::id();
        assert!(holders(addr.port()).iter().any(|(p, _)| *p == pid));
        drop(l);
        assert!(!listening(std::process::id()).contains(&addr));
    }

    #[test]
    fn the_tree_holds_children_of_children() {
        // `sh` forks `sleep` (the `; :` keeps it from exec'ing it).
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30; :"])
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut tree = process_tree(child.id());
        while tree.len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tree = process_tree(child.id());
        }
        for pid in tree.iter().skip(1) {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(tree.len(), 2, "{tree:?}");
        assert_eq!(tree[0], child.id());
        assert_eq!(
            connectable("0.0.0.0:3000".parse().unwrap()),
            "127.0.0.1:3000".parse().unwrap()
        );
        assert_eq!(
            connectable("[::]:3000".parse().unwrap()),
            "[::1]:3000".parse().unwrap()
        );
    }
}
