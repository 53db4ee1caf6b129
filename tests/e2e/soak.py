#!/usr/bin/env python3
"""Helpers of scripts/soak.sh (and the fault tests).

    soak.py malformed --iface eth0 --dst-mac MAC --side inside|outside
                      --src IP --stop FILE --report FILE [--rate N]
        send malformed frames (scapy) until FILE exists: bad checksums,
        truncated and inconsistent headers, bogus TCP flags, ICMP errors
        quoting nothing or a packet no session has; the report counts them
        by kind. Run as root inside a test namespace.
    soak.py sample --pid PID [--prefix P]
        one JSON snapshot of the daemon: sessions, allocator state, NAT log
        losses, ports in use per pool address, drops, DPDK heap, VmRSS.
    soak.py monitor --pid PID --stop FILE --report FILE [--interval S]
        a sample every S seconds until FILE exists (or the daemon dies);
        the report keeps the peaks and whether any sample broke a rule.
    soak.py blast --bind IP --port P --flows K --count N --ready F --report F
        (outside) wait for K "hello" datagrams, answer each, then send N
        datagrams round-robin to their sources as fast as possible.
    soak.py sink --server IP --port P --source IP --flows K --report F
        (inside) K UDP sockets say hello to the blaster, then count what
        comes back until nothing has for 2 s.
    soak.py burst --server IP --port P --source IP --flows N --report F
        (inside) N new UDP flows at once: N sockets, one datagram each.

Only the documentation addresses given on the command line are used.
"""
import argparse
import json
import os
import random
import socket
import sys
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in scripts/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "scripts"))
import telemetry  # noqa: E402  (scripts/telemetry.py)


def write_json(path, obj):
    """Written whole or not at all: the shell polls for the file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.write("\n")
    os.rename(tmp, path)


# ---- malformed frames ----------------------------------------------------

def frames(side, src, peer, pools, gw):
    """kind -> function(rnd) returning one scapy packet (IP layer and up, or
    raw bytes for shapes scapy would repair)."""
    from scapy.all import ICMP, IP, TCP, UDP, Raw  # noqa: F401 (slow import)

    def sport(r):
        return r.randrange(1024, 65535)

    def ip_raw(r, payload, proto, **kw):
        """An IPv4 header built by hand, so that scapy fixes nothing."""
        pkt = IP(src=src, dst=kw.pop("dst", peer), proto=proto, **kw) / Raw(payload)
        return bytes(pkt)

    # Inside: towards the server through the NAT. Outside: towards the pool
    # addresses (no session) and the gateway itself.
    def dst(r):
        return peer if side == "inside" else r.choice(pools)

    k = {}
    k["ip_bad_checksum"] = lambda r: IP(src=src, dst=dst(r), chksum=0xBAD) / UDP(
        sport=sport(r), dport=7000) / b"x"
    k["ip_truncated"] = lambda r: bytes(IP(src=src, dst=dst(r)) / UDP())[:12]
    k["ip_bad_ihl"] = lambda r: IP(src=src, dst=dst(r), ihl=4) / UDP(dport=7000)
    k["ip_total_length_long"] = lambda r: IP(src=src, dst=dst(r), len=600) / UDP(
        sport=sport(r), dport=7000) / b"short"
    k["ip_total_length_short"] = lambda r: IP(src=src, dst=dst(r), len=19) / UDP(
        sport=sport(r), dport=7000)
    k["ip_version_6"] = lambda r: IP(src=src, dst=dst(r), version=6) / UDP(dport=7000)
    k["ttl_1"] = lambda r: IP(src=src, dst=dst(r), ttl=1) / UDP(sport=sport(r), dport=7000)
    k["tcp_truncated"] = lambda r: ip_raw(r, bytes(TCP(sport=sport(r), dport=7000))[:9], 6,
                                          dst=dst(r))
    k["udp_truncated"] = lambda r: ip_raw(r, b"\x12\x34\x1b", 17, dst=dst(r))
    k["udp_length_long"] = lambda r: IP(src=src, dst=dst(r)) / UDP(
        sport=sport(r), dport=7000, len=400) / b"0123456789"
    k["udp_length_short"] = lambda r: IP(src=src, dst=dst(r)) / UDP(
        sport=sport(r), dport=7000, len=3) / b"0123456789"
    k["udp_bad_checksum"] = lambda r: IP(src=src, dst=dst(r)) / UDP(
        sport=sport(r), dport=7000, chksum=0xBAD) / b"bad checksum"
    k["tcp_bad_checksum_syn"] = lambda r: IP(src=src, dst=dst(r)) / TCP(
        sport=sport(r), dport=7000, flags="S", chksum=0xBAD)
    k["tcp_syn_fin"] = lambda r: IP(src=src, dst=dst(r)) / TCP(
        sport=sport(r), dport=7000, flags="SF")
    k["tcp_no_flags"] = lambda r: IP(src=src, dst=dst(r)) / TCP(
        sport=sport(r), dport=7000, flags=0)
    k["tcp_all_flags"] = lambda r: IP(src=src, dst=dst(r)) / TCP(
        sport=sport(r), dport=7000, flags="FSRPAUEC")
    k["tcp_fin_no_session"] = lambda r: IP(src=src, dst=dst(r)) / TCP(
        sport=sport(r), dport=7000, flags="FA", seq=r.randrange(1 << 32))
    k["tcp_data_offset_bad"] = lambda r: IP(src=src, dst=dst(r)) / TCP(
        sport=sport(r), dport=7000, flags="S", dataofs=15)
    # ICMP errors: quoting nothing, a few bytes of an IP header, or a whole
    # packet that belongs to no session.
    k["icmp_error_empty"] = lambda r: IP(src=src, dst=dst(r)) / ICMP(type=3, code=3)
    k["icmp_error_short_quote"] = lambda r: IP(src=src, dst=dst(r)) / ICMP(
        type=11, code=0) / bytes(IP(src=dst(r), dst=src))[:10]
    k["icmp_error_no_session"] = lambda r: IP(src=src, dst=dst(r)) / ICMP(
        type=3, code=3) / IP(src=dst(r), dst=src) / UDP(sport=sport(r), dport=sport(r))
    k["icmp_error_quote_truncated_l4"] = lambda r: IP(src=src, dst=dst(r)) / ICMP(
        type=3, code=4) / (bytes(IP(src=dst(r), dst=src, proto=6))[:20] + b"\x00\x50")
    k["icmp_bad_checksum"] = lambda r: IP(src=src, dst=dst(r)) / ICMP(
        type=8, chksum=0xBAD, id=r.randrange(65536)) / b"ping"
    k["icmp_to_gateway_truncated"] = lambda r: ip_raw(r, b"\x08\x00", 1, dst=gw)
    k["tcp_to_gateway"] = lambda r: IP(src=src, dst=gw) / TCP(sport=sport(r), dport=22,
                                                              flags="S")
    return k


def cmd_malformed(a):
    from scapy.all import Ether, conf  # slow import: only here
    from scapy.packet import Packet

    kinds = frames(a.side, a.src, a.peer, a.pool, a.gw)
    sock = conf.L2socket(iface=a.iface)
    src_mac = open("/sys/class/net/%s/address" % a.iface).read().strip()
    r = random.Random(a.seed)
    sent = {name: 0 for name in kinds}
    names = sorted(kinds)
    deadline = time.monotonic() + a.duration
    gap = 1.0 / a.rate if a.rate > 0 else 0
    nxt = time.monotonic()
    while time.monotonic() < deadline and not os.path.exists(a.stop):
        name = names[r.randrange(len(names))]
        pkt = kinds[name](r)
        eth = Ether(dst=a.dst_mac, src=src_mac, type=0x0800)
        frame = bytes(eth / pkt) if isinstance(pkt, Packet) else bytes(eth) + pkt
        sock.send(frame)
        sent[name] += 1
        nxt += gap
        pause = nxt - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        elif pause < -1:
            nxt = time.monotonic()  # behind: do not burst to catch up
    sock.close()
    write_json(a.report, {"side": a.side, "total": sum(sent.values()), "sent": sent})
    return 0


# ---- daemon snapshots ----------------------------------------------------

def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def heap(path):
    """The DPDK malloc heaps summed: bytes allocated, allocations, heap size."""
    ids = telemetry.query(path, "/eal/heap_list").get("/eal/heap_list") or []
    if isinstance(ids, dict):  # {"Heap_id": [...]} in some DPDK versions
        ids = ids.get("Heap_id", [])
    out = {"alloc_bytes": 0, "alloc_count": 0, "heap_bytes": 0}
    for hid in ids:
        h = telemetry.query(path, "/eal/heap_info,%d" % hid)["/eal/heap_info"]
        out["alloc_bytes"] += int(h["Alloc_size"])
        out["alloc_count"] += int(h["Alloc_count"])
        out["heap_bytes"] += int(h["Heap_size"])
    return out


def sample(path, pid):
    nat = telemetry.query(path, "/ephemera/nat")["/ephemera/nat"] or {}
    pools = telemetry.query(path, "/ephemera/pools")["/ephemera/pools"] or {}
    drops = telemetry.query(path, "/ephemera/drops")["/ephemera/drops"] or {}

    def total(key):
        return sum(int(w.get(key, 0)) for w in nat.values())

    s = {
        "time": time.time(),
        "sessions": total("sessions"),
        "destinations": total("destinations"),
        "alloc_lost": total("alloc_lost"),
        "alloc_bad_release": total("alloc_bad_release"),
        "alloc_chunks_in_use": total("alloc_chunks_in_use"),
        "log_lost": total("log_lost"),
        "handoff_in": total("handoff_in"),
        "ports_in_use": {"%s/%s" % (p["pool"], p["address"]): int(p["ports_in_use"])
                         for p in pools.values()},
        "drops": drops,
        "rss_kb": vm_rss_kb(pid),
    }
    s.update(heap(path))
    return s


def cmd_sample(a):
    path = a.socket or telemetry.socket_path(a.prefix)
    print(json.dumps(sample(path, a.pid)))
    return 0


def cmd_monitor(a):
    """Peaks over the run; a broken rule is kept with the sample that broke it."""
    path = a.socket or telemetry.socket_path(a.prefix)
    rep = {"samples": 0, "errors": 0, "peak_sessions": 0, "peak_rss_kb": 0,
           "peak_heap_alloc_bytes": 0, "peak_destinations": 0, "max_alloc_lost": 0,
           "max_alloc_bad_release": 0, "max_log_lost": 0, "daemon_died": False,
           "last_error": None}
    while not os.path.exists(a.stop):
        if not os.path.exists("/proc/%d" % a.pid):
            rep["daemon_died"] = True
            break
        try:
            s = sample(path, a.pid)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as err:
            rep["errors"] += 1
            rep["last_error"] = str(err)
        else:
            rep["samples"] += 1
            rep["peak_sessions"] = max(rep["peak_sessions"], s["sessions"])
            rep["peak_destinations"] = max(rep["peak_destinations"], s["destinations"])
            rep["peak_rss_kb"] = max(rep["peak_rss_kb"], s["rss_kb"])
            rep["peak_heap_alloc_bytes"] = max(rep["peak_heap_alloc_bytes"], s["alloc_bytes"])
            rep["max_alloc_lost"] = max(rep["max_alloc_lost"], s["alloc_lost"])
            rep["max_alloc_bad_release"] = max(rep["max_alloc_bad_release"],
                                               s["alloc_bad_release"])
            rep["max_log_lost"] = max(rep["max_log_lost"], s["log_lost"])
        write_json(a.report, rep)
        time.sleep(a.interval)
    write_json(a.report, rep)
    return 0


# ---- bursts for the fault tests ------------------------------------------

def cmd_blast(a):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.bind((a.bind, a.port))
    write_json(a.ready, {"listening": True})
    peers = []
    deadline = time.monotonic() + a.timeout
    while len(peers) < a.flows:
        left = deadline - time.monotonic()
        if left <= 0:
            write_json(a.report, {"error": "%d of %d hellos" % (len(peers), a.flows)})
            return 1
        sock.settimeout(left)
        try:
            data, peer = sock.recvfrom(2048)
        except socket.timeout:
            continue
        if data.startswith(b"hello") and peer not in peers:
            peers.append(peer)
        sock.sendto(b"ok", peer)
    time.sleep(0.5)  # the sink has all its answers
    sent = errors = 0
    payload = b"b" * 64
    t0 = time.monotonic()
    for i in range(a.count):
        try:
            sock.sendto(payload, peers[i % len(peers)])
            sent += 1
        except OSError:
            errors += 1
    secs = time.monotonic() - t0
    write_json(a.report, {"peers": ["%s:%d" % p for p in peers], "sent": sent,
                          "send_errors": errors, "seconds": round(secs, 3)})
    return 0


def udp_sockets(source, n):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((source, 0))
        s.setblocking(False)
        socks.append(s)
    return socks


def cmd_sink(a):
    import selectors
    socks = udp_sockets(a.source, a.flows)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    answered = set()
    for _ in range(10):  # hello until every flow is answered (10 tries)
        for i, s in enumerate(socks):
            if i not in answered:
                s.sendto(b"hello %d" % i, (a.server, a.port))
        end = time.monotonic() + 0.5
        while len(answered) < len(socks) and time.monotonic() < end:
            for key, _ in sel.select(0.1):
                try:
                    if key.fileobj.recv(2048) == b"ok":
                        answered.add(socks.index(key.fileobj))
                except BlockingIOError:
                    pass
        if len(answered) == len(socks):
            break
    write_json(a.ready, {"answered": len(answered)})
    received = 0
    last = time.monotonic()
    deadline = last + a.duration
    while time.monotonic() < deadline and time.monotonic() - last < 2.0:
        for key, _ in sel.select(0.2):
            while True:
                try:
                    key.fileobj.recv(2048)
                except BlockingIOError:
                    break
                received += 1
                last = time.monotonic()
    write_json(a.report, {"flows": len(socks), "answered": len(answered),
                          "received": received})
    return 0


def cmd_burst(a):
    socks = udp_sockets(a.source, a.flows)
    sent = 0
    for i, s in enumerate(socks):
        try:
            s.sendto(b"burst %d" % i, (a.server, a.port))
            sent += 1
        except OSError:
            pass
    time.sleep(a.linger)  # the echoes come back to open sockets
    for s in socks:
        s.close()
    write_json(a.report, {"flows": a.flows, "sent": sent})
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("malformed")
    m.add_argument("--iface", default="eth0")
    m.add_argument("--dst-mac", required=True, help="the gateway port's MAC")
    m.add_argument("--side", choices=("inside", "outside"), required=True)
    m.add_argument("--src", required=True, help="source address of the frames")
    m.add_argument("--peer", default="203.0.113.10", help="inside: the server")
    m.add_argument("--pool", action="append", default=[],
                   help="outside: pool addresses to aim at (repeat)")
    m.add_argument("--gw", required=True, help="the gateway's address on this side")
    m.add_argument("--rate", type=float, default=50, help="frames per second")
    m.add_argument("--duration", type=float, default=3600)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--stop", required=True)
    m.add_argument("--report", required=True)
    b = sub.add_parser("blast")
    b.add_argument("--bind", required=True)
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--flows", type=int, required=True)
    b.add_argument("--count", type=int, required=True)
    b.add_argument("--timeout", type=float, default=20)
    b.add_argument("--ready", required=True)
    b.add_argument("--report", required=True)
    k = sub.add_parser("sink")
    k.add_argument("--server", required=True)
    k.add_argument("--port", type=int, required=True)
    k.add_argument("--source", required=True)
    k.add_argument("--flows", type=int, required=True)
    k.add_argument("--duration", type=float, default=60)
    k.add_argument("--ready", required=True, help="written once every flow is answered")
    k.add_argument("--report", required=True)
    u = sub.add_parser("burst")
    u.add_argument("--server", required=True)
    u.add_argument("--port", type=int, required=True)
    u.add_argument("--source", required=True)
    u.add_argument("--flows", type=int, required=True)
    u.add_argument("--linger", type=float, default=1.0)
    u.add_argument("--report", required=True)
    for name in ("sample", "monitor"):
        s = sub.add_parser(name)
        s.add_argument("--pid", type=int, required=True)
        s.add_argument("--prefix", default=os.environ.get("EPH_PREFIX", "ephemera"))
        s.add_argument("--socket", help="telemetry socket (overrides --prefix)")
        if name == "monitor":
            s.add_argument("--stop", required=True)
            s.add_argument("--report", required=True)
            s.add_argument("--interval", type=float, default=1.0)
    a = ap.parse_args()
    if a.cmd == "malformed":
        if a.side == "outside" and not a.pool:
            ap.error("--side outside needs --pool")
        return cmd_malformed(a)
    return {"sample": cmd_sample, "monitor": cmd_monitor, "blast": cmd_blast,
            "sink": cmd_sink, "burst": cmd_burst}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
