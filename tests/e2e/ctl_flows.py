#!/usr/bin/env python3
"""Traffic with known endpoints for the control-plane end-to-end tests,
against the flows.py server (TCP: each line comes back as "PEER LINE";
UDP: each datagram comes back as "PEER " + datagram, PEER being the
ip:port the server saw).

driver  one process holding flows for a whole test, driven by command
        files DIR/cmd.N (N = 1, 2, ...), each answered in DIR/res.N (JSON):
          open NAME           a TCP connection; its inside and seen ip:port
          exchange NAME BYTES BYTES of random lines there and back
          close NAME          our FIN, then the server's
          udp COUNT [TRIES [SPORT]]  COUNT new UDP flows, one socket each
                              (from ports SPORT.. if given), each answered
                              once; unanswered ones are sent TRIES times
          tcp COUNT [SPORT]   COUNT new TCP connections, one round trip each
          quit
        Sockets stay open until quit: a later flow never reuses the source
        port of an earlier one, so every flow is a new NAT session.
stream  N UDP datagrams from one socket at a steady rate, every echo
        counted by sequence number.
natlog  check a NAT log (JSON lines) against the flows a driver reported.

Output is JSON. Everything is bounded in time; only the addresses given
are contacted.
"""
import argparse
import json
import os
import secrets
import socket
import sys
import time

sys.dont_write_bytecode = True


def endpoint(addr):
    return "%s:%d" % (addr[0], addr[1])


def write_json(path, obj):
    """Written whole or not at all: the shell polls for the file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.write("\n")
    os.rename(tmp, path)


def readline(sock, buf, timeout):
    """One line (without its newline) from sock, buf holding what came before."""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer within %.0f s" % timeout)
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    return line.decode(), rest


# ---- driver --------------------------------------------------------------

class Driver:
    def __init__(self, a):
        self.a = a
        self.conns = {}   # name -> [socket, unread bytes]
        self.udp = []     # every UDP socket, kept until quit
        self.tcp = []     # connections of "tcp", kept until quit

    def connect(self, sport=0):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.a.source, sport))
        s.settimeout(self.a.timeout)
        s.connect((self.a.server, self.a.port))
        return s

    def exchange(self, name, nbytes):
        """nbytes of random hex in lines of up to 1000; every line must come back."""
        sock, buf = self.conns[name]
        sent = received = 0
        peers = set()
        res = {"ok": True}
        while sent < nbytes:
            payload = secrets.token_hex(500)[:min(1000, nbytes - sent)]
            sock.sendall(payload.encode() + b"\n")
            sent += len(payload)
            line, buf = readline(sock, buf, self.a.timeout)
            peer, _, echoed = line.partition(" ")
            if echoed != payload:
                res = {"ok": False, "error": "line %d came back altered" % (sent // 1000)}
                break
            received += len(echoed)
            peers.add(peer)
        self.conns[name][1] = buf
        res.update(sent=sent, received=received, peers=sorted(peers))
        return res

    def open(self, name):
        self.conns[name] = [self.connect(), b""]
        res = self.exchange(name, 16)
        res.update(inside=endpoint(self.conns[name][0].getsockname()),
                   seen=res["peers"][0] if res["peers"] else None)
        return res

    def close(self, name):
        sock, buf = self.conns.pop(name)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(self.a.timeout)
        rest = buf + sock.recv(65536)
        sock.close()
        return {"ok": rest == b"", "unread": len(rest)}

    def udp_flows(self, count, tries=3, sport=0):
        socks = []
        for i in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((self.a.source, sport + i if sport else 0))
            s.setblocking(False)
            socks.append(s)
        self.udp += socks
        tag0 = len(self.udp) - count
        seen, bad = {}, 0
        pending = set(range(count))
        for _ in range(tries):
            for i in sorted(pending):
                socks[i].sendto(b"flow %d" % (tag0 + i), (self.a.server, self.a.port))
            deadline = time.monotonic() + self.a.udp_wait
            while pending and time.monotonic() < deadline:
                for i in list(pending):
                    try:
                        data = socks[i].recv(2048)
                    except BlockingIOError:
                        continue
                    peer, _, tag = data.decode().partition(" ")
                    if tag != "flow %d" % (tag0 + i):
                        bad += 1
                        continue
                    seen[i] = peer
                    pending.discard(i)
                time.sleep(0.005)
            if not pending:
                break
        flows = [{"proto": "udp", "inside": endpoint(s.getsockname()), "seen": seen.get(i)}
                 for i, s in enumerate(socks)]
        return {"ok": len(seen), "unanswered": len(pending), "bad": bad, "flows": flows}

    def tcp_flows(self, count, sport=0):
        flows, failed = [], []
        for i in range(count):
            try:
                s = self.connect(sport + i if sport else 0)
                s.sendall(b"hello %d\n" % i)
                line, _ = readline(s, b"", self.a.timeout)
                peer, _, tag = line.partition(" ")
                if tag != "hello %d" % i:
                    raise ValueError("answer %r" % line)
                flows.append({"proto": "tcp", "inside": endpoint(s.getsockname()),
                              "seen": peer})
                self.tcp.append(s)
            except (OSError, ValueError) as e:
                failed.append("connection %d: %s" % (i, e))
        return {"ok": len(flows), "failed": len(failed), "errors": failed[:3], "flows": flows}

    def run(self, words):
        cmd, args = words[0], words[1:]
        if cmd == "open":
            return self.open(args[0])
        if cmd == "exchange":
            return self.exchange(args[0], int(args[1]))
        if cmd == "close":
            return self.close(args[0])
        if cmd == "udp":
            return self.udp_flows(*(int(x) for x in args))
        if cmd == "tcp":
            return self.tcp_flows(*(int(x) for x in args))
        raise ValueError("unknown command %r" % " ".join(words))


def cmd_driver(a):
    d = Driver(a)
    n, deadline = 1, time.monotonic() + a.max
    while time.monotonic() < deadline:
        cmd_file = os.path.join(a.dir, "cmd.%d" % n)
        if not os.path.exists(cmd_file):
            time.sleep(0.02)
            continue
        with open(cmd_file) as f:
            words = f.read().split()
        res_file = os.path.join(a.dir, "res.%d" % n)
        n += 1
        if words == ["quit"]:
            write_json(res_file, {"ok": True})
            return 0
        try:
            res = d.run(words)
        except (OSError, ValueError, KeyError, IndexError) as e:
            res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        write_json(res_file, res)
    return 1


# ---- stream --------------------------------------------------------------

def cmd_stream(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.source, 0))
    s.setblocking(False)
    got, dups, bad, peers = set(), 0, 0, set()

    def receive():
        nonlocal dups, bad
        while True:
            try:
                data = s.recv(2048)
            except BlockingIOError:
                return
            peer, _, tag = data.decode().partition(" ")
            words = tag.split()
            if len(words) != 2 or words[0] != "seq" or not words[1].isdigit():
                bad += 1
                continue
            peers.add(peer)
            if int(words[1]) in got:
                dups += 1
            got.add(int(words[1]))

    start = time.monotonic()
    for i in range(a.count):
        # Paced against the start, so a slow moment is caught up, not lost.
        delay = start + i / a.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        s.sendto(b"seq %d" % i, (a.server, a.port))
        receive()
        if i == 0 and a.started:
            write_json(a.started, {"started": True})
    sent_s = time.monotonic() - start
    deadline = time.monotonic() + a.wait
    while len(got) < a.count and time.monotonic() < deadline:
        receive()
        time.sleep(0.01)
    missing = sorted(set(range(a.count)) - got)
    json.dump({"sent": a.count, "echoed": len(got), "duplicates": dups, "bad": bad,
               "missing": missing[:20], "peers": sorted(peers), "seconds": round(sent_s, 2),
               "inside": endpoint(s.getsockname())}, sys.stdout)
    print()
    return 0


# ---- natlog --------------------------------------------------------------

def cmd_natlog(a):
    """Exactly one session-create and one session-delete (with --reason) per
    flow, with the flow's inside, outside (= seen) and remote; nothing else."""
    flows = []
    for path in a.flows:
        with open(path) as f:
            flows += json.load(f)["flows"]
    events, problems = [], []
    with open(a.log) as f:
        for n, line in enumerate(f, 1):
            try:
                events.append(json.loads(line))
            except ValueError:
                problems.append("line %d is not JSON: %r" % (n, line[:120]))
    want = {}
    for fl in flows:
        if fl["seen"] is None:
            problems.append("flow %s was never answered" % fl["inside"])
        want[(fl["proto"], fl["inside"])] = fl
    seen = {"session-create": {}, "session-delete": {}}
    for ev in events:
        kind = ev.get("event")
        missing = [k for k in ("time", "event", "pool", "proto", "inside", "outside", "remote",
                               "worker") if k not in ev]
        if kind == "session-delete":
            missing += [k for k in ("reason", "duration_s") if k not in ev]
        if kind not in seen or missing:
            problems.append("event %s lacks %s: %s" % (kind, missing, json.dumps(ev)))
            continue
        key = (ev["proto"], ev["inside"])
        fl = want.get(key)
        if fl is None:
            problems.append("%s of no flow of ours: %s" % (kind, json.dumps(ev)))
            continue
        seen[kind][key] = seen[kind].get(key, 0) + 1
        if ev["outside"] != fl["seen"]:
            problems.append("%s %s: outside %s, the server saw %s"
                            % (kind, fl["inside"], ev["outside"], fl["seen"]))
        if ev["remote"] != a.remote:
            problems.append("%s %s: remote %s, expected %s"
                            % (kind, fl["inside"], ev["remote"], a.remote))
        if ev["pool"] != a.pool:
            problems.append("%s %s: pool %s, expected %s"
                            % (kind, fl["inside"], ev["pool"], a.pool))
        if kind == "session-delete" and ev["reason"] != a.reason:
            problems.append("session-delete %s: reason %s, expected %s"
                            % (fl["inside"], ev["reason"], a.reason))
    for kind, counts in seen.items():
        for key in want:
            if counts.get(key, 0) != 1:
                problems.append("%d %s lines for %s %s" % (counts.get(key, 0), kind, *key))
    if a.server_report:
        with open(a.server_report) as f:
            rep = json.load(f)
        for proto in ("udp", "tcp"):
            server = {"%s:%d" % tuple(p) for p in rep["%s_peers" % proto]}
            ours = {fl["seen"] for fl in flows if fl["proto"] == proto}
            if server != ours:
                problems.append("%s peers: the server saw %d, the flows were answered as %d "
                                "(%s)" % (proto, len(server), len(ours),
                                          sorted(server ^ ours)[:4]))
    out = {"events": len(events), "flows": len(flows),
           "creates": sum(seen["session-create"].values()),
           "deletes": sum(seen["session-delete"].values()), "problems": problems[:10]}
    json.dump(out, sys.stdout)
    print()
    return 1 if problems else 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    for name in ("driver", "stream"):
        s = sub.add_parser(name)
        s.add_argument("--server", required=True)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--source", required=True, help="local address to send from")
        s.add_argument("--timeout", type=float, default=5, help="per TCP answer, seconds")
    s = sub.choices["driver"]
    s.add_argument("--dir", required=True, help="where cmd.N and res.N files live")
    s.add_argument("--max", type=float, default=85, help="lifetime, seconds")
    s.add_argument("--udp-wait", type=float, default=1.5, help="UDP answer wait per try")
    s = sub.choices["stream"]
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--rate", type=float, required=True, help="datagrams per second")
    s.add_argument("--wait", type=float, default=3, help="for the last echoes, seconds")
    s.add_argument("--started", help="file written once the first datagram is out")
    s = sub.add_parser("natlog")
    s.add_argument("--log", required=True)
    s.add_argument("--flows", action="append", required=True,
                   help="a driver's udp/tcp result (JSON); repeatable")
    s.add_argument("--remote", required=True, help="ip:port of the server")
    s.add_argument("--pool", required=True)
    s.add_argument("--reason", required=True, help="reason of every session-delete")
    s.add_argument("--server-report", help="flows.py server report: its peers must match")
    a = p.parse_args()
    return {"driver": cmd_driver, "stream": cmd_stream, "natlog": cmd_natlog}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
