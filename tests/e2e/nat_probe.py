#!/usr/bin/env python3
"""Small, exact traffic for the NAT end-to-end tests (every packet counted).

send        N UDP datagrams (one socket) or N TCP SYNs (one each, never
            retransmitted) to DST:PORT; prints what it sent.
filter-srv  waits for one datagram, answers its sender first from another
            port (must be dropped by endpoint-dependent filtering), then from
            the port it was sent to.
filter-cli  sends one datagram, prints every datagram that comes back.
exhaust     against a 16-port pool: opens more UDP flows to one destination
            than the worker's share holds, checks an established flow still
            works, waits (reading telemetry) until the ports are back, then
            opens the share again. Prints a JSON report.
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


# ---- exhaust ---------------------------------------------------------------

def flows_round(socks, first, dst, wait, tag):
    """Send one datagram on each socket (index from first), collect answers.
    Returns {index: "ip:port" the server saw}."""
    for i, s in enumerate(socks):
        s.setblocking(False)
        s.sendto(("%s %d" % (tag, first + i)).encode(), dst)
    seen = {}
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and len(seen) < len(socks):
        for i, s in enumerate(socks):
            try:
                data = s.recv(2048)
            except BlockingIOError:
                continue
            addr, text = data.decode().split(" ", 1)
            if text == "%s %d" % (tag, first + i):
                seen[first + i] = addr
        time.sleep(0.01)
    return seen


def tm(a, cmd):
    return telemetry.query(a.telemetry, cmd)[cmd]


def dest_entries(a, outside):
    d = tm(a, "/ephemera/destinations") or {}
    return [e for e in d.values()
            if e.get("outside") == outside and e.get("remote") == a.server
            and e.get("remote_port") == a.port and e.get("proto") == "udp"]


def cmd_exhaust(a):
    lo, hi = (int(x) for x in a.ports.split("-"))
    dst = (a.server, a.port)
    rep = {"flows": a.flows}

    # A: more new flows than the share holds, one datagram each, no retries.
    socks = [udp_socket(a.source) for _ in range(a.flows)]
    seen_a = flows_round(socks, 0, dst, a.wait, "a")
    rep["a_answered"] = len(seen_a)
    rep["a_unanswered"] = a.flows - len(seen_a)
    rep["a_seen"] = sorted(seen_a.values())
    if not seen_a:
        print(json.dumps(rep))
        return 1
    ports = sorted(int(v.rsplit(":", 1)[1]) for v in seen_a.values())
    residue = ports[0] % a.workers
    rep["residue"] = residue
    rep["share"] = sum(1 for p in range(lo, hi + 1) if p % a.workers == residue)

    # B: the established flow still answered; one more new flow is not.
    first = min(seen_a)
    again = flows_round([socks[first]], first, dst, a.wait, "a")
    rep["b_established_answered"] = len(again)
    extra = [udp_socket(a.source)]
    seen_b = flows_round(extra, a.flows, dst, a.wait, "b")
    rep["b_new_answered"] = len(seen_b)
    outside = seen_a[first].rsplit(":", 1)[0]
    rep["b_pools"] = tm(a, "/ephemera/pools")
    rep["b_destination"] = dest_entries(a, outside)
    for s in socks + extra:
        s.close()

    # C: idle timeout, then quarantine: the destination is forgotten.
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.recover_max:
        ents = dest_entries(a, outside)
        if all(e["live"] == 0 and e["resting"] == 0 for e in ents):
            break
        time.sleep(0.2)
    rep["c_recovered_after_s"] = round(time.monotonic() - t0, 1)
    rep["c_destination"] = dest_entries(a, outside)

    # D: the share again, plus one: the same ports come back, one is refused.
    socks = [udp_socket(a.source) for _ in range(rep["share"] + 1)]
    seen_d = flows_round(socks, 0, dst, a.wait, "d")
    for s in socks:
        s.close()
    rep["d_answered"] = len(seen_d)
    rep["d_unanswered"] = len(socks) - len(seen_d)
    rep["d_seen"] = sorted(seen_d.values())
    rep["unanswered_total"] = (rep["a_unanswered"] + (1 - rep["b_established_answered"])
                               + (1 - rep["b_new_answered"]) + rep["d_unanswered"])
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
    s = sub.add_parser("exhaust")
    s.add_argument("--server", required=True)
    s.add_argument("--port", type=int, default=7000)
    s.add_argument("--source", required=True)
    s.add_argument("--ports", required=True, help="the pool's range, lo-hi")
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--flows", type=int, default=20)
    s.add_argument("--wait", type=float, default=1.0, help="answer wait per round")
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
            "exhaust": cmd_exhaust, "hold-srv": cmd_hold_srv, "hold-cli": cmd_hold_cli,
            "rst-spoof": cmd_rst_spoof}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
