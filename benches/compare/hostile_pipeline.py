#!/usr/bin/env python3
"""Clients that pipeline a burst of requests and never read the answers.

    hostile_pipeline.py PORT PID [CONNS] [BURST_BYTES] [PATH] [HOLD_S]

Each of CONNS connections sends BURST_BYTES of pipelined `GET PATH` in one go and
reads nothing. The server's resident memory (VmRSS of PID) is sampled every 100 ms;
after HOLD_S seconds each connection is checked (a non-blocking read: EOF or a reset
means the server closed it), then every client closes and the RSS is read again
after 2 s. Prints one JSON object. Bounded: at most HOLD_S + 3 seconds.
"""
import json
import socket
import sys
import time

port, pid = int(sys.argv[1]), int(sys.argv[2])
conns = int(sys.argv[3]) if len(sys.argv) > 3 else 20
burst_bytes = int(sys.argv[4]) if len(sys.argv) > 4 else 64 * 1024
path = sys.argv[5] if len(sys.argv) > 5 else "/todos?limit=100"
hold = float(sys.argv[6]) if len(sys.argv) > 6 else 10.0


def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
burst = request * (burst_bytes // len(request))
start = rss_kib()
socks = []
for _ in range(conns):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(burst)
    socks.append(s)
peak, samples = start, []
t0 = time.time()
closed_at = [None] * conns
while time.time() - t0 < hold:
    r = rss_kib()
    peak = max(peak, r)
    samples.append((round(time.time() - t0, 1), r))
    time.sleep(0.1)
closed = 0
for s in socks:
    s.setblocking(False)
    try:
        # Drain what the kernel holds; a closed connection ends in EOF or a reset.
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                closed += 1
                break
    except (ConnectionResetError, BrokenPipeError):
        closed += 1
    except BlockingIOError:
        pass
for s in socks:
    s.close()
time.sleep(2)
end = rss_kib()
print(json.dumps({
    "conns": conns, "burst_bytes": len(burst), "requests_per_conn": len(burst) // len(request),
    "path": path, "hold_s": hold, "rss_start_mib": round(start / 1024, 1),
    "rss_peak_mib": round(peak / 1024, 1), "growth_mib": round((peak - start) / 1024, 1),
    "closed_by_server": closed, "rss_after_close_mib": round(end / 1024, 1),
}))
