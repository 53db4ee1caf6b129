#!/usr/bin/env python3
"""Small, exact traffic for the NAT end-to-end tests (every packet counted).

send        N UDP datagrams (one socket) or N TCP SYNs (one each, never
            retransmitted) to DST:PORT; prints what it sent.
filter-srv  waits for one datagram, answers its sender first from another
            port (must be dropped by endpoint-dependent filtering), then from
            the port it was sent to.
filter-cli  sends one datagram, prints every datagram that comes back.
range       against a small pool: opens as many UDP flows (or TCP
            connections) to one destination as the port range holds, asks
            each of them again, opens one more (refused), waits (reading
            telemetry) until the ports and loans are back, then does it all
            again. Records the gateway's counters at each step; prints a
            JSON report.
hold-srv    accepts one TCP connection, writes its peer to --ready, echoes
            lines; on "abort" resets the connection (SO_LINGER 0: a RST).
hold-cli    connects, exchanges a line, waits for --go, exchanges another,
            asks for the abort and reports whether the reset arrived.
rst-spoof   sends N raw TCP RSTs from SRC:SPORT to DST:DPORT, sequence
            numbers from --seq in steps of --step (needs CAP_NET_RAW).

Everything is bounded in time; only the addresses given are contacted.
"""
import argparse
import json
import os
import select
import selectors
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # leave no __pycache__ beside the scripts
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "scripts"))
import telemetry  # noqa: E402  (scripts/telemetry.py)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from craft import csum  # noqa: E402  (the Internet checksum the crafted frames use)


def udp_socket(source=None, sport=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source or "0.0.0.0", sport))
    return s


def cmd_send(a):
    sent = 0
    if a.proto == "udp":
        s = udp_socket(a.source, a.sport)
        for i in range(a.count):
            s.sendto(b"unsolicited %d" % i, (a.dst, a.dport))
            sent += 1
        s.close()
    else:
        socks = []
        for _ in range(a.count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if a.source or a.sport:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((a.source or "0.0.0.0", a.sport))
            s.setblocking(False)
            s.connect_ex((a.dst, a.dport))  # one SYN now
            socks.append(s)
            sent += 1
        # Closed in SYN-SENT before the first retransmission (1 s): no
        # second SYN, no RST.
        time.sleep(0.3)
        for s in socks:
            s.close()
    print(json.dumps({"proto": a.proto, "dst": "%s:%d" % (a.dst, a.dport), "sent": sent}))
    return 0


def cmd_filter_srv(a):
    right = udp_socket(a.bind, a.port)
    wrong = udp_socket(a.bind, a.other_port)
    right.settimeout(a.timeout)
    with open(a.ready, "w") as f:
        f.write("ready\n")
    try:
        data, peer = right.recvfrom(2048)
    except socket.timeout:
        print(json.dumps({"peer": None}))
        return 1
    wrong.sendto(b"from the wrong port", peer)
    time.sleep(0.3)
    right.sendto(b"from the right port", peer)
    print(json.dumps({"peer": "%s:%d" % peer, "got": data.decode(errors="replace")}))
    return 0


def cmd_filter_cli(a):
    s = udp_socket(a.source)
    s.sendto(b"hello", (a.server, a.port))
    got = []
    deadline = time.monotonic() + a.wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            break
        got.append({"from": "%s:%d" % peer, "data": data.decode(errors="replace")})
    print(json.dumps({"local": "%s:%d" % s.getsockname(), "received": got}))
    return 0


# ---- range -----------------------------------------------------------------

T0 = time.monotonic()
LENDING = ("borrow_requests", "ports_borrowed", "ports_lent", "loans_returned",
           "lend_refused", "loans_lost", "handoff_out", "handoff_in")


def tm(a, cmd):
    return telemetry.query(a.telemetry, cmd)[cmd]


def gateway(a):
    """The counters the test judges, summed over the workers."""
    nat = tm(a, "/ephemera/nat") or {}
    pools = tm(a, "/ephemera/pools") or {}
    snap = {k: sum(w.get(k, 0) for w in nat.values()) for k in LENDING}
    snap["workers"] = {name[len("worker"):]: [w.get("ports_borrowed", 0), w.get("ports_lent", 0)]
                       for name, w in nat.items()}    # [borrowed, lent] by worker id
    snap["nat_exhausted"] = tm(a, "/ephemera/drops").get("nat_exhausted", 0)
    snap["pool_exhausted"] = sum(e.get("exhausted", 0) for e in pools.values()
                                 if e.get("address") == a.address)
    snap["t"] = round(time.monotonic() - T0, 2)
    return snap


def dest_entries(a):
    d = tm(a, "/ephemera/destinations") or {}
    return [e for e in d.values()
            if e.get("outside") == a.address and e.get("remote") == a.server
            and e.get("remote_port") == a.port and e.get("proto") == a.proto]


def settled(g):
    return g["ports_lent"] == g["ports_borrowed"] == g["loans_returned"]


def wait_settled(a, least):
    """Until the destination is forgotten by every worker and every loan is
    back (at least `least` seconds, at most --recover-max). Returns the
    seconds waited and whether it settled."""
    t0 = time.monotonic()
    time.sleep(least)
    while True:
        g = gateway(a)
        if settled(g) and all(e["live"] == 0 and e["resting"] == 0 for e in dest_entries(a)):
            return round(time.monotonic() - t0, 1), True
        if time.monotonic() - t0 > a.recover_max:
            return round(time.monotonic() - t0, 1), False
        time.sleep(0.2)


class Udp:
    """UDP flows, one socket each: a datagram "TAG INDEX" per flow and
    round; the server answers "ip:port TAG INDEX" with the peer it saw."""

    def __init__(self, a):
        self.a, self.dst = a, (a.server, a.port)
        self.socks, self.sent, self.seen, self.last_ok = [], [], {}, {}
        self.sel = selectors.DefaultSelector()
        self.resent = 0

    def open(self, n):
        first = len(self.socks)
        for i in range(first, first + n):
            s = udp_socket(self.a.source)
            s.setblocking(False)
            self.socks.append(s)
            self.sent.append(0)
            self.sel.register(s, selectors.EVENT_READ, i)
        return list(range(first, first + n))

    def send(self, idx, tag):
        for i in idx:
            self.socks[i].sendto(("%s %d" % (tag, i)).encode(), self.dst)
            self.sent[i] += 1

    def collect(self, idx, tag, wait):
        """Answers to TAG from the flows idx within `wait` seconds."""
        want, got = set(idx), {}
        deadline = time.monotonic() + wait
        while want - set(got):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ in self.sel.select(left):
                i = key.data
                while True:
                    try:
                        data = self.socks[i].recv(2048)
                    except BlockingIOError:
                        break
                    addr, text = data.decode().split(" ", 1)
                    if text == "%s %d" % (tag, i) and i in want:
                        got[i] = addr
                        self.seen.setdefault(i, set()).add(addr)
                        self.last_ok[i] = time.monotonic()
        return got

    def round(self, idx, tag, retry):
        """Ask every flow of idx in rounds of --round; with retry, a flow
        unanswered after --wait asks once more on its own socket (the same
        flow: never a new port). Returns {index: peer the server saw}."""
        got = {}
        for k in range(0, len(idx), self.a.round):
            part = idx[k:k + self.a.round]
            self.send(part, tag)
            got.update(self.collect(part, tag, self.a.wait))
            miss = [i for i in part if i not in got]
            if retry and miss:
                self.resent += len(miss)
                self.send(miss, tag)
                got.update(self.collect(miss, tag, self.a.wait))
        return got

    def close(self):
        for s in self.socks:
            self.sel.unregister(s)
            s.close()


class Tcp:
    """TCP connections to the server, each connect given --connect-wait
    (below the first SYN retransmission at 1 s: a refused connect costs
    exactly one SYN); a line "TAG INDEX" is echoed as "ip:port TAG INDEX"."""

    def __init__(self, a):
        self.a, self.socks, self.files, self.seen = a, [], [], {}
        self.resent = 0

    def connect(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((self.a.source, 0))
        s.setblocking(False)
        s.connect_ex((self.a.server, self.a.port))
        _, w, _ = select.select([], [s], [], self.a.connect_wait)
        if not w or s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            s.close()    # in SYN-SENT: nothing more goes out
            return None
        s.setblocking(True)
        s.settimeout(self.a.wait * 3)
        return s

    def open(self, n):
        """n connections, one after the other; returns the indexes of those
        that connected (a refused one is not kept)."""
        ok = []
        for _ in range(n):
            s = self.connect()
            self.socks.append(s)
            self.files.append(s.makefile("rb") if s else None)
            if s:
                ok.append(len(self.socks) - 1)
        return ok

    def round(self, idx, tag, retry=False):
        got = {}
        for i in idx:
            try:
                self.socks[i].sendall(("%s %d\n" % (tag, i)).encode())
                addr, text = self.files[i].readline().decode().strip().split(" ", 1)
            except (OSError, ValueError):
                continue
            if text == "%s %d" % (tag, i):
                got[i] = addr
                self.seen.setdefault(i, set()).add(addr)
        return got

    def close(self):
        for f, s in zip(self.files, self.socks):
            if s:
                f.close()
                s.close()
        self.socks, self.files = [], []


def cmd_range(a):
    """The whole range to one destination, the next flow refused, everything
    still answered; after the ports come back, the range again plus one."""
    lo, hi = (int(x) for x in a.ports.split("-"))
    size = hi - lo + 1
    rep = {"proto": a.proto, "size": size, "phases": {}}
    ph = rep["phases"]
    ph["start_wait_s"], rep["start_settled"] = wait_settled(a, 0)
    ph["start"] = gateway(a)

    def run(label, extra_label):
        f = Udp(a) if a.proto == "udp" else Tcp(a)
        t0 = time.monotonic()
        if a.proto == "udp":
            idx = f.open(size)
            got = f.round(idx, label, retry=True)
        else:
            idx = f.open(size)
            got = f.round(idx, label)
        rep[label + "_s"] = round(time.monotonic() - t0, 2)
        rep[label + "_answered"] = len(got)
        rep[label + "_seen"] = sorted(got.values())
        ph[label] = gateway(a)
        # every flow answered once more (replies on lent ports cross the lender)
        t1 = time.monotonic()
        if a.proto == "udp":
            oldest = min(f.last_ok.values()) if f.last_ok else t1
            rep[label + "_oldest_idle_s"] = round(t1 - oldest, 2)
        again = f.round(sorted(got), label + "again", retry=True)
        rep[label + "_again_answered"] = len(again)
        rep[label + "_again_same_peer"] = sum(1 for i in again if again[i] == got[i])
        # the next new flow: refused, exactly one packet sent for it
        if a.proto == "udp":
            x = f.open(1)
            f.send(x, extra_label)
            xgot = f.collect(x, extra_label, a.wait * 2)
        else:
            x = f.open(1)
            xgot = f.round(x, extra_label)
        rep[extra_label + "_answered"] = len(xgot) if x else 0
        rep[extra_label + "_seen"] = sorted(xgot.values()) if x else []
        rep[label + "_resent"] = f.resent
        # packets of flows that never got an answer: each one refused once
        if a.proto == "udp":
            rep[label + "_refused_packets"] = sum(n for i, n in enumerate(f.sent) if i not in f.seen)
        else:
            rep[label + "_refused_packets"] = sum(1 for s in f.socks if s is None)
        rep[label + "_datagrams_answered"] = sum(len(v) for v in [got, again, xgot])
        time.sleep(0.3)    # the refusal's counters
        ph[extra_label] = gateway(a)
        f.close()

    run("a", "a_extra")
    ph["recover_wait_s"], rep["recovered"] = wait_settled(a, a.least_recovery)
    ph["recovered"] = gateway(a)
    rep["recovered_destination"] = dest_entries(a)
    run("d", "d_extra")
    ph["end_wait_s"], rep["end_settled"] = (0, True)
    if a.proto == "tcp":    # closed just now: give the loans their way back
        ph["end_wait_s"], rep["end_settled"] = wait_settled(a, a.least_recovery)
    ph["end"] = gateway(a)
    print(json.dumps(rep))
    return 0


def cmd_hold_srv(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(1)
    ls.settimeout(a.timeout)
    c, peer = ls.accept()
    ls.close()
    with open(a.ready + ".tmp", "w") as f:
        f.write("%s:%d\n" % peer)
    os.rename(a.ready + ".tmp", a.ready)
    c.settimeout(a.timeout)
    lines = []
    for line in c.makefile("rb"):
        lines.append(line.strip().decode())
        if line.strip() == b"abort":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            break
        c.sendall(line)
    c.close()
    print(json.dumps({"peer": "%s:%d" % peer, "lines": lines}))
    return 0


def cmd_hold_cli(a):
    rep = {}
    s = socket.create_connection((a.server, a.port), timeout=5, source_address=(a.source, 0))
    f = s.makefile("rb")
    s.sendall(b"hello\n")
    rep["hello"] = f.readline().strip().decode()
    end = time.time() + a.timeout
    while not os.path.exists(a.go) and time.time() < end:
        time.sleep(0.05)
    s.sendall(b"again\n")
    rep["again"] = f.readline().strip().decode()
    s.sendall(b"abort\n")
    try:
        rep["after_abort"] = repr(s.recv(100))
    except ConnectionResetError:
        rep["after_abort"] = "reset"
    except socket.timeout:
        rep["after_abort"] = "timeout"
    s.close()
    print(json.dumps(rep))
    return 0


def cmd_rst_spoof(a):
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i in range(a.count):
        seq = (a.seq + i * a.step) & 0xFFFFFFFF
        tcp = struct.pack("!HHIIBBHHH", a.sport, a.dport, seq, 0, 5 << 4, 0x04, 0, 0, 0)
        tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, 20) + tcp)) \
            + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i, 0, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        s.sendto(ip + tcp, (a.dst, 0))
    s.close()
    print(json.dumps({"sent": a.count, "first_seq": a.seq & 0xFFFFFFFF}))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("send")
    s.add_argument("--proto", choices=("udp", "tcp"), required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--dport", type=int, required=True)
    s.add_argument("--source")
    s.add_argument("--sport", type=int, default=0)
    s.add_argument("--count", type=int, default=1)
    s = sub.add_parser("filter-srv")
    s.add_argument("--bind", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--other-port", type=int, required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("--timeout", type=float, default=20)
    s = sub.add_parser("filter-cli")
    s.add_argument("--server", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--source")
    s.add_argument("--wait", type=float, default=2)
    s = sub.add_parser("range")
    s.add_argument("--proto", choices=("udp", "tcp"), default="udp")
    s.add_argument("--server", required=True)
    s.add_argument("--port", type=int, default=7000)
    s.add_argument("--source", required=True)
    s.add_argument("--address", required=True, help="the pool address the host is paired with")
    s.add_argument("--ports", required=True, help="the pool's range, lo-hi")
    s.add_argument("--round", type=int, default=100, help="UDP flows asked at once")
    s.add_argument("--wait", type=float, default=1.0, help="answer wait per round")
    s.add_argument("--connect-wait", type=float, default=0.7,
                   help="TCP connect wait, below the 1 s SYN retransmission")
    s.add_argument("--least-recovery", type=float, default=0,
                   help="seconds to wait at least for the ports to come back")
    s.add_argument("--recover-max", type=float, default=30)
    s.add_argument("--telemetry", required=True, help="telemetry socket path")
    s = sub.add_parser("hold-srv")
    s.add_argument("--bind", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--ready", required=True)
    s.add_argument("--timeout", type=float, default=20)
    s = sub.add_parser("hold-cli")
    s.add_argument("--server", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--source", required=True)
    s.add_argument("--go", required=True)
    s.add_argument("--timeout", type=float, default=20)
    s = sub.add_parser("rst-spoof")
    s.add_argument("--src", required=True)
    s.add_argument("--sport", type=int, required=True)
    s.add_argument("--dst", required=True)
    s.add_argument("--dport", type=int, required=True)
    s.add_argument("--seq", type=int, required=True)
    s.add_argument("--step", type=int, default=1000)
    s.add_argument("--count", type=int, default=1)
    a = p.parse_args()
    return {"send": cmd_send, "filter-srv": cmd_filter_srv, "filter-cli": cmd_filter_cli,
            "range": cmd_range, "hold-srv": cmd_hold_srv, "hold-cli": cmd_hold_cli,
            "rst-spoof": cmd_rst_spoof}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
