#!/usr/bin/env python3
"""Before/after figures for issue 10 item 7 against a nearplay-rendezvous binary.
usage: scripts/rendezvous_hostile.py BINARY [check ...]  (loopback only; source
addresses 127.0.0.x; needs prlimit). The figures of docs/rendezvous.md, "Hostile
clients": run it against an old and a new nearplay-rendezvous."""
import json, os, socket, subprocess, sys, time

BIN = sys.argv[1]


def start(*args):
    p = subprocess.Popen([BIN, "--listen", "127.0.0.1:0", "--log-level", "error", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline().strip()
    host, port = line.removeprefix("listening on ").rsplit(":", 1)
    return p, (host, int(port))


def rss_kib(p):
    for l in open(f"/proc/{p.pid}/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])


def fds(p):
    return len(os.listdir(f"/proc/{p.pid}/fd"))


def conn(addr, src="127.0.0.1", timeout=3.0):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(addr)
    return s


def http(addr, method, path, body=b"", src="127.0.0.1", timeout=3.0):
    t = time.time()
    try:
        s = conn(addr, src, timeout)
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        status = int(data.split(b" ", 2)[1])
        return status, data.split(b"\r\n\r\n", 1)[1], time.time() - t
    except Exception as e:
        return None, repr(e).encode(), time.time() - t


def ws(addr, path, src="127.0.0.1"):
    s = conn(addr, src, 5.0)
    s.sendall(f"GET /{path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(1)
        if not c:
            return None, 0
        head += c
    return s, int(head.split(b" ", 2)[1])


def frame(first, opcode, payload, fin=False):
    b0 = (opcode if first else 0) | (0x80 if fin else 0)
    n = len(payload)
    h = bytes([b0, 0x80 | 126]) + n.to_bytes(2, "big") if n >= 126 else bytes([b0, 0x80 | n])
    return h + b"\0\0\0\0" + payload


def unfinished_messages(count=3, size=63_000_000):
    p, addr = start()
    before = rss_kib(p)
    out = []
    socks = []
    for i in range(count):
        s, st = ws(addr, f"rss{i}")
        socks.append(s)
        chunk = b"x" * 8192
        sent = 0
        try:
            while sent < size:
                s.sendall(frame(sent == 0, 1, chunk))
                sent += len(chunk)
            s.sendall(frame(True, 9, b"ping", fin=True))
            s.settimeout(10)
            got = b""
            while b"ping" not in got:
                c = s.recv(65536)
                if not c:
                    break
                got += c
            fate = "pong (read it all)" if b"ping" in got else "closed"
        except OSError as e:
            fate = f"cut after {sent // 1_000_000} MB ({e.__class__.__name__})"
        out.append(fate)
    after = rss_kib(p)
    p.kill()
    print(f"unfinished {size // 1_000_000} MB messages x{count}: {out}; "
          f"server RSS {before} KiB -> {after} KiB (+{(after - before) / 1024:.1f} MiB, "
          f"{(after - before) / 1024 / count:.1f} MiB each)")


def silent_connections(n=1100):
    p, addr = start("--shutdown-grace-ms", "100")
    # The filer's setting: a server at the common default of 1024 descriptors.
    subprocess.run(["prlimit", f"--pid={p.pid}", "--nofile=1024:1024"], check=True)
    fd0 = fds(p)
    held = []
    for _ in range(n):
        try:
            held.append(conn(addr, "127.0.0.2"))
        except OSError:
            break
    time.sleep(0.5)
    h = http(addr, "GET", "/health")
    body = json.dumps({"name": "Real", "game": "g", "proto": 1, "version": "1.0", "max_players": 4,
                       "password": False, "mode": "ffa", "public": True}).encode()
    r = http(addr, "POST", "/rooms", body)
    print(f"{len(held)} silent connections from 127.0.0.2: server fds {fd0} -> {fds(p)}; "
          f"/health -> {h[0]} in {h[2] * 1000:.0f} ms; POST /rooms -> {r[0]} in {r[2] * 1000:.0f} ms")
    time.sleep(11)
    print(f"  11 s later: server fds {fds(p)} (header timeout 10 s by default)")
    p.kill()


NEW = b"max-rooms-per-address" in subprocess.run([BIN, "--help"], capture_output=True).stdout


def lobbies_size(count=300):
    extra = ["--max-rooms-per-address", "1000"] if NEW else []
    p, addr = start("--requests-per-second", "100000", "--request-burst", "100000", *extra)
    for ver in ("v" * 3900, "v" * 32):
        r = {"name": "n" * 63, "game": "g", "proto": 1, "version": ver, "max_players": 4,
             "password": False, "mode": "ffa", "public": True}
        st, b, _ = http(addr, "POST", "/rooms", json.dumps(r).encode())
        print(f"POST /rooms with a {len(ver)}-byte version -> {st}")
        if st == 201:
            break
    for _ in range(count - 1):
        http(addr, "POST", "/rooms", json.dumps(r).encode())
    real = {"name": "Real", "game": "g", "proto": 1, "version": "1.0", "max_players": 4,
            "password": False, "mode": "ffa", "public": True}
    http(addr, "POST", "/rooms", json.dumps(real).encode())
    st, b, _ = http(addr, "GET", "/lobbies?game=g&proto=1")
    print(f"{count} rooms with a {len(r['version'])}-byte version + the real one: "
          f"GET /lobbies -> {st}, {len(b)} bytes ({len(b) / 1048576:.2f} MiB)")
    if NEW:
        pages, total, found, after = 0, 0, False, ""
        while True:
            st, b, _ = http(addr, "GET", "/lobbies?game=g&proto=1" + after)
            page = json.loads(b)
            pages += 1
            total += len(page["rooms"])
            found |= any(x["name"] == "Real" for x in page["rooms"])
            if not page["next"]:
                break
            after = "&after=" + page["next"]
        print(f"  paged: {pages} pages, {total} rooms, real room listed: {found}")
    p.kill()


def stock_rooms(n=500):
    p, addr = start("--max-rooms", "500", "--requests-per-second", "100000", "--request-burst", "100000")
    ok = refused = 0
    socks = []
    for i in range(n):
        s, st = ws(addr, f"{i:05}" + "n" * (16 * 1024 - 16))
        if st == 101:
            ok += 1
            socks.append(s)
        else:
            refused += 1
    time.sleep(0.3)
    h = http(addr, "GET", "/health", src="127.0.0.3")
    rooms = json.loads(h[1]).get("rooms") if h[0] == 200 else None
    body = json.dumps({"name": "Real", "game": "g", "proto": 1, "version": "1.0", "max_players": 4,
                       "password": False, "mode": "ffa", "public": True}).encode()
    r = http(addr, "POST", "/rooms", body, src="127.0.0.3")
    print(f"{n} websockets with 16 KiB stock names from one address: {ok} upgraded, "
          f"{refused} refused; rooms open {rooms}; another address's POST /rooms -> {r[0]}")
    p.kill()


for f in sys.argv[2:] or ["unfinished_messages", "silent_connections", "lobbies_size", "stock_rooms"]:
    globals()[f]()
