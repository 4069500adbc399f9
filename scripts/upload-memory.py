#!/usr/bin/env python3
"""Peak memory and CPU per request of a server under HttpArena's `upload` load.

    scripts/upload-memory.py BIN PATH [CONNS] [MB] [PER_CONN]
    e.g. cargo build --release -p armature-web --example upload
         scripts/upload-memory.py target/release/examples/upload /upload
         scripts/upload-memory.py target/release/examples/upload /upload-buffered

Starts BIN with WORKERS=1 on a free port, then CONNS keep-alive connections (16)
each POST PER_CONN (4) bodies of MB MiB (20, Content-Length) at once, checking
each answer is the byte count. Prints the server's peak resident memory (VmHWM
from /proc/PID/status) and its user and system CPU per request (/proc/PID/stat,
counted over the load only).
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time


def ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime


def vm(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])  # kB
    raise SystemExit(f"no {key} in /proc/{pid}/status")


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        got = sock.recv(65536)
        if not got:
            raise SystemExit(f"server closed: {data!r}")
        data += got
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b"\r\n")[0], body[:length]


def client(port, path, body, per_conn, errors):
    try:
        sock = socket.create_connection(("127.0.0.1", port))
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\n"
                f"Content-Type: application/octet-stream\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        for _ in range(per_conn):
            sock.sendall(head)
            sock.sendall(body)
            status, answer = read_response(sock)
            if answer != str(len(body)).encode():
                errors.append(f"{status!r} {answer[:80]!r}")
        sock.close()
    except Exception as e:  # reported below, the run is void
        errors.append(repr(e))


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    bin_, path = sys.argv[1], sys.argv[2]
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    mb = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    per_conn = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PORT=str(port), WORKERS="1")
    server = subprocess.Popen([bin_], env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        rss_idle = vm(server.pid, "VmRSS")
        body = os.urandom(1 << 20) * mb
        errors = []
        u0, s0 = ticks(server.pid)
        start = time.monotonic()
        threads = [threading.Thread(target=client, args=(port, path, body, per_conn, errors))
                   for _ in range(conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - start
        u1, s1 = ticks(server.pid)
        hwm = vm(server.pid, "VmHWM")
        if errors:
            raise SystemExit(f"void run: {errors[:3]}")
        n = conns * per_conn
        hz = os.sysconf("SC_CLK_TCK")
        print(f"{path}: {n} requests of {mb} MiB over {conns} connections in {wall:.1f} s; "
              f"peak RSS {hwm / 1024:.1f} MiB (idle {rss_idle / 1024:.1f} MiB); "
              f"CPU per request user {1000 * (u1 - u0) / hz / n:.2f} ms "
              f"sys {1000 * (s1 - s0) / hz / n:.2f} ms")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
