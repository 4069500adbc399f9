#!/usr/bin/env python3
"""Checks a server's answers to TechEmpower's database routes before db.sh measures it.

    dbcheck.py http://127.0.0.1:18090 postgres://user:pw@127.0.0.1:PORT/db

Each route must answer 200 with `Server`, `Date`, the spec's `Content-Type` and a
`Content-Length` equal to the body's length. `/db` is one `{"id":N,"randomNumber":N}`
object (both in 1..10000, and the row really holds that number); `/queries` and
`/updates` are arrays of q such objects, q clamped to 1..500 and 1 when missing or not
a number; `/updates` writes its numbers (read back with psql); `/fortunes` is
TechEmpower's expected page byte for byte. Exits non-zero with the first difference.
"""

import html
import http.client
import json
import subprocess
import sys
import urllib.parse

FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. — Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "フレームワークのベンチマーク"),
    (0, "Additional fortune added at request time."),
]


def expected_fortunes() -> bytes:
    rows = sorted(FORTUNES, key=lambda f: f[1].encode())
    cells = "".join(f"<tr><td>{i}</td><td>{html.escape(m)}</td></tr>" for i, m in rows)
    page = (
        "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
        f"<tr><th>id</th><th>message</th></tr>{cells}</table></body></html>"
    )
    return page.encode()


class Failed(Exception):
    pass


def get(base, path, content_type):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise Failed(f"GET {path}: status {resp.status}: {body[:200]!r}")
    headers = {k.lower(): v for k, v in resp.getheaders()}
    for name in ("server", "date", "content-type", "content-length"):
        if name not in headers:
            raise Failed(f"GET {path}: no {name} header in {headers}")
    if headers["content-type"].lower() != content_type:
        raise Failed(f"GET {path}: Content-Type {headers['content-type']!r}, want {content_type!r}")
    if int(headers["content-length"]) != len(body):
        raise Failed(f"GET {path}: Content-Length {headers['content-length']}, body {len(body)}")
    return body


def world(obj, path):
    if not isinstance(obj, dict) or sorted(obj) != ["id", "randomNumber"]:
        raise Failed(f"GET {path}: {obj!r} is not {{\"id\":N,\"randomNumber\":N}}")
    for k in ("id", "randomNumber"):
        if not isinstance(obj[k], int) or not 1 <= obj[k] <= 10000:
            raise Failed(f"GET {path}: {k} {obj[k]!r} not in 1..10000")
    return obj


def worlds(base, path, want):
    got = json.loads(get(base, path, "application/json"))
    if not isinstance(got, list) or len(got) != want:
        raise Failed(f"GET {path}: want an array of {want}, got {str(got)[:200]}")
    return [world(w, path) for w in got]


def db_number(db_url, id_):
    out = subprocess.run(
        ["psql", db_url, "-X", "-At", "-c", f"SELECT randomnumber FROM world WHERE id = {id_}"],
        check=True, capture_output=True, text=True,
    )
    return int(out.stdout.strip())


def check(base, db_url):
    for _ in range(20):
        w = world(json.loads(get(base, "/db", "application/json")), "/db")
        if db_number(db_url, w["id"]) != w["randomNumber"]:
            raise Failed(f"GET /db: {w} but the row holds {db_number(db_url, w['id'])}")
    for q, want in [("20", 20), ("1", 1), ("0", 1), ("foo", 1), ("", 1), ("501", 500)]:
        worlds(base, f"/queries?q={q}", want)
    worlds(base, "/queries", 1)
    page = get(base, "/fortunes", "text/html; charset=utf-8")
    if page != expected_fortunes():
        raise Failed(f"GET /fortunes:\n{page.decode(errors='replace')}\nwant\n{expected_fortunes().decode()}")
    for q, want in [("20", 20), ("0", 1), ("foo", 1), ("501", 500)]:
        worlds(base, f"/updates?q={q}", want)
    # Written: 1-row updates, so no two entries name the same id.
    for _ in range(10):
        (w,) = worlds(base, "/updates?q=1", 1)
        if db_number(db_url, w["id"]) != w["randomNumber"]:
            raise Failed(f"GET /updates?q=1 answered {w}, the row holds {db_number(db_url, w['id'])}")


def main() -> int:
    base, db_url = sys.argv[1], sys.argv[2]
    try:
        check(base, db_url)
    except (Failed, OSError, ValueError, subprocess.CalledProcessError) as e:
        print(f"{base}: {e}")
        return 1
    print(f"{base}: /db, /queries, /fortunes, /updates answer as TechEmpower's spec says")
    return 0


if __name__ == "__main__":
    sys.exit(main())
