#!/usr/bin/env python3
"""Hostile clients of the daemon's control socket (protocol v1: one JSON
request per line, one answer line each, in order).

    ctl_flood.py --socket PATH [--clients 300] [--max-clients 256] [--stall 3]
                 [--pipeline 200]

Every client connects first and all wait for each other, so that they are
connected at once; then each one, by its index, does one of the KINDS and
checks the answer it gets. A client the daemon turned away for having too
many clients at once (error "busy") is counted apart: with --max-clients,
exactly the clients beyond it must be. Prints a JSON report per kind and
exits 1 if any client got a wrong answer, if a kind was never answered by
the daemon itself, or if the wrong number were turned away.

Only the given Unix socket is contacted; everything is bounded in time.
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True

KINDS = ("garbage", "invalid_json", "not_object", "wrong_version", "too_large", "stall",
         "unknown_command", "bad_args", "bad_filter", "pipelined")


class Wrong(Exception):
    pass


class Busy(Exception):
    pass


class Client:
    def __init__(self, path, timeout):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # A blocking connect waits for room in a full listen backlog, as ephctl's
        # does (bounded by SO_SNDTIMEO); a socket with a Python timeout is
        # non-blocking and would get EAGAIN instead.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                             struct.pack("ll", int(timeout), 0))
        self.sock.connect(path)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""

    def send(self, data):
        """A daemon that closed after its answer makes the rest fail: not ours to judge."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def answer(self):
        """The next answer line as JSON; a "busy" answer raises Busy."""
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Wrong("no answer within %.0f s" % self.timeout)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Wrong("connection closed without an answer")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        try:
            r = json.loads(line)
        except ValueError:
            raise Wrong("answer is not JSON: %r" % line[:200])
        if not isinstance(r, dict) or r.get("v") != 1 or "ok" not in r:
            raise Wrong("answer is not a v1 response: %r" % line[:200])
        if not r["ok"] and r.get("error", {}).get("code") == "busy":
            raise Busy()
        return r

    def expect_error(self, code, rid=None, message_has=None):
        r = self.answer()
        err = r.get("error") or {}
        if r["ok"] or err.get("code") != code:
            raise Wrong("expected error %s, got %s" % (code, json.dumps(r)[:300]))
        if r.get("id") != rid:
            raise Wrong("id %r not echoed: %s" % (rid, json.dumps(r)[:300]))
        if not err.get("message"):
            raise Wrong("error %s without a message" % code)
        if message_has and message_has not in err["message"]:
            raise Wrong("message %r does not name %s" % (err["message"], message_has))
        return code

    def expect_closed(self):
        """After too-large the daemon closes the connection: EOF, nothing more."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return
            if not chunk:
                if self.buf.strip():
                    raise Wrong("more after too-large: %r" % self.buf[:200])
                return
            self.buf += chunk
        raise Wrong("connection still open %.0f s after too-large" % self.timeout)

    def close(self):
        self.sock.close()


def request(rid, cmd, args=None):
    r = {"v": 1, "id": rid, "cmd": cmd}
    if args is not None:
        r["args"] = args
    return json.dumps(r).encode() + b"\n"


def run_kind(c, kind, i, a):
    """Do kind on client c; return the codes it was answered with."""
    if kind == "garbage":
        # Bytes that are neither UTF-8 nor JSON, no newline among them.
        rnd = random.Random(i)
        junk = bytes(rnd.choice(range(0x80, 0x100)) for _ in range(200))
        c.send(junk + b"\n")
        return [c.expect_error("bad-json")]
    if kind == "invalid_json":
        c.send(b'{"v":1,"id":7,"cmd":\n')
        return [c.expect_error("bad-json")]
    if kind == "not_object":
        c.send(b'[1,2,3]\n')
        return [c.expect_error("bad-request")]
    if kind == "wrong_version":
        c.send(b'{"v":2,"id":"v2","cmd":"version"}\n')
        return [c.expect_error("bad-request", rid="v2")]
    if kind == "too_large":
        c.send(b"a" * (100 * 1024))
        code = c.expect_error("too-large")
        c.expect_closed()
        return [code]
    if kind == "stall":
        line = request("stall-%d" % i, "version")
        c.send(line[:len(line) // 2])
        time.sleep(a.stall)
        c.sock.settimeout(0.05)
        try:
            early = c.sock.recv(65536)
        except socket.timeout:
            early = b""
        if early:
            c.buf += early
            c.answer()  # a "busy" line raises Busy here
            raise Wrong("answered half a line: %r" % early[:200])
        c.send(line[len(line) // 2:])
        r = c.answer()
        if not r["ok"] or r.get("id") != "stall-%d" % i or "version" not in r.get("result", {}):
            raise Wrong("completed line not answered right: %s" % json.dumps(r)[:300])
        return ["ok"]
    if kind == "unknown_command":
        c.send(request(i, "frobnicate"))
        return [c.expect_error("unknown-command", rid=i)]
    if kind == "bad_args":
        c.send(request(i, "pool.set-range", {"pool": "default", "ports": "9-3"}))
        return [c.expect_error("invalid-argument", rid=i, message_has="args.ports")]
    if kind == "bad_filter":
        c.send(request(i, "show.sessions", {"limit": 0}))
        return [c.expect_error("invalid-argument", rid=i, message_has="args.limit")]
    if kind == "pipelined":
        # One write; the answers must come back one per request, in order.
        plan, data = [], b""
        for k in range(a.pipeline):
            rid = "%d-%d" % (i, k)
            if k % 4 == 0:
                data += request(rid, "version")
                plan.append((rid, "ok"))
            elif k % 4 == 1:
                data += request(rid, "show.stats")
                plan.append((rid, "ok"))
            elif k % 4 == 2:
                data += request(rid, "no.such-command")
                plan.append((rid, "unknown-command"))
            else:
                data += request(rid, "show.destinations", {"top": 0})
                plan.append((rid, "invalid-argument"))
        c.send(data)
        codes = []
        for n, (rid, want) in enumerate(plan):
            try:
                r = c.answer()
            except Busy:
                if n == 0:
                    raise
                raise Wrong("busy in the middle of a pipeline")
            got = "ok" if r["ok"] else r["error"]["code"]
            if r.get("id") != rid or got != want:
                raise Wrong("pipelined answer %d: expected id %s %s, got %s"
                            % (n, rid, want, json.dumps(r)[:300]))
            codes.append(got)
        return codes
    raise ValueError(kind)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--socket", required=True)
    p.add_argument("--clients", type=int, default=300)
    p.add_argument("--max-clients", type=int,
                   help="clients the daemon serves at once (the rest get \"busy\")")
    p.add_argument("--stall", type=float, default=3, help="seconds a half line waits")
    p.add_argument("--pipeline", type=int, default=200, help="requests in one write")
    p.add_argument("--timeout", type=float, default=20, help="per answer, seconds")
    a = p.parse_args()

    report = {k: {"answered": 0, "busy": 0, "wrong": 0, "codes": {}, "errors": []}
              for k in KINDS}
    lock = threading.Lock()
    barrier = threading.Barrier(a.clients, timeout=60)
    connect_failures = []

    def client(i):
        kind = KINDS[i % len(KINDS)]
        try:
            c = Client(a.socket, a.timeout)
        except OSError as e:
            with lock:
                connect_failures.append(str(e))
            barrier.abort()
            return
        try:
            barrier.wait()
            codes = run_kind(c, kind, i, a)
            with lock:
                report[kind]["answered"] += 1
                for code in codes:
                    report[kind]["codes"][code] = report[kind]["codes"].get(code, 0) + 1
        except Busy:
            with lock:
                report[kind]["busy"] += 1
        except (Wrong, OSError, threading.BrokenBarrierError) as e:
            with lock:
                report[kind]["wrong"] += 1
                if len(report[kind]["errors"]) < 3:
                    report[kind]["errors"].append("client %d: %s" % (i, e))
        finally:
            c.close()

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = {"clients": a.clients, "seconds": round(time.monotonic() - start, 2),
           "answered": sum(r["answered"] for r in report.values()),
           "busy": sum(r["busy"] for r in report.values()),
           "wrong": sum(r["wrong"] for r in report.values()),
           "connect_failures": connect_failures[:3], "kinds": report}
    ok = not connect_failures and out["wrong"] == 0 and all(
        r["answered"] > 0 for r in report.values())
    if a.max_clients is not None:
        out["busy_expected"] = max(0, a.clients - a.max_clients)
        ok = ok and out["busy"] == out["busy_expected"]
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
