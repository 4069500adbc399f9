#!/usr/bin/env python3
"""Probes GET /health while mixed.sh loads the app, as a Kubernetes probe does: a
new TCP connection per probe, every INTERVAL seconds, for DURATION seconds.

    health_probe.py HOST PORT DURATION [INTERVAL=0.05]

Prints one line: probes, p50, p99 and worst latency in ms (connect to the end of
the response), and how many took over 100 ms or failed (a 5 s timeout is a failure).
"""

import socket
import sys
import time


def probe(host: str, port: int) -> float | None:
    start = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
    except OSError:
        return None
    if not data.startswith(b"HTTP/1.1 200"):
        return None
    return (time.perf_counter() - start) * 1000


def main() -> None:
    host, port, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.05
    end = time.monotonic() + duration
    times: list[float] = []
    failed = 0
    while time.monotonic() < end:
        t = probe(host, port)
        if t is None:
            failed += 1
        else:
            times.append(t)
        time.sleep(interval)
    times.sort()
    if not times:
        print(f"probes=0 failed={failed}")
        return

    def pct(p: float) -> float:
        return times[min(len(times) - 1, int(p * len(times)))]

    slow = sum(1 for t in times if t > 100)
    print(
        f"probes={len(times)} p50_ms={pct(0.5):.2f} p99_ms={pct(0.99):.2f} "
        f"max_ms={times[-1]:.2f} over_100ms={slow} failed={failed}"
    )


if __name__ == "__main__":
    main()
