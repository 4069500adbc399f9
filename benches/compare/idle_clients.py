#!/usr/bin/env python3
"""Opens N keep-alive connections to HOST:PORT, sends one GET on each, reads the
whole response, and keeps them all open and idle until stdin closes (or HOLD
seconds pass). Prints 'ready N' on stdout once every connection has its answer.

Used by idle_memory.sh: the server's RSS is read while these connections idle.
"""
import asyncio
import resource
import sys

async def one(host, port, path, conns, sem):
    async with sem:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise SystemExit(f"status {status!r} from the server")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        conns.append((reader, writer))

async def main():
    host, port, n, path, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 1024)), hard))
    conns = []
    sem = asyncio.Semaphore(256)  # connect in waves, not 10k SYNs at once
    await asyncio.gather(*(one(host, port, path, conns, sem) for _ in range(n)))
    print(f"ready {len(conns)}", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([asyncio.ensure_future(stdin_closed)], timeout=hold)
    for _, w in conns:
        w.close()

asyncio.run(main())
