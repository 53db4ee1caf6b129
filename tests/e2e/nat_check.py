#!/usr/bin/env python3
"""Judge the NAT end-to-end tests from what both sides reported.

addresses   the pool address every inside host is seen as (writes --seen)
flows       the 2,000-flow test: clients' reports, the server's record of
            every peer, and the gateway's counters before and after
exhaustion  the 16-port pool test: nat_probe.py exhaust's report, the
            server's record, nat_exhausted and /ephemera/pools

Prints what it checked; every failed check is a line starting with FAIL.
Exit status 1 when any check failed.
"""
import argparse
import glob
import ipaddress
import json
import os
import sys

FAILS = []


def check(ok, msg):
    if not ok:
        FAILS.append(msg)
        print("FAIL " + msg)
    return ok


def ip_range(spec):
    lo, hi = spec.split("-") if "-" in spec else (spec, spec)
    return int(ipaddress.ip_address(lo)), int(ipaddress.ip_address(hi))


def port_range(spec):
    lo, hi = spec.split("-")
    return int(lo), int(hi)


def split(peer):
    """'a.b.c.d:p' or [a, p] -> (a, p)."""
    if isinstance(peer, (list, tuple)):
        return peer[0], int(peer[1])
    addr, port = peer.rsplit(":", 1)
    return addr, int(port)


class Pool:
    def __init__(self, addrs, ports):
        self.lo, self.hi = ip_range(addrs)
        self.plo, self.phi = port_range(ports)

    def has(self, addr):
        return self.lo <= int(ipaddress.ip_address(addr)) <= self.hi

    def bad_peers(self, peers):
        """Peers whose address is not a pool address or port not in the range."""
        return [p for p in peers
                if not self.has(split(p)[0]) or not self.plo <= split(p)[1] <= self.phi]


def read_seen(path):
    seen = {}
    if path and os.path.exists(path):
        for line in open(path):
            if line.strip():
                host, addr = line.split()
                seen[host] = addr
    return seen


def cmd_addresses(a):
    pool = Pool(a.pool, "0-65535")
    srv = json.load(open(a.server_report))
    lines = []
    for line in open(a.seen_in):
        host, rep = line.split(" ", 1)
        rep = json.loads(rep)
        if not check(rep.get("udp_ok") == 1, "%s: its UDP flow got no answer" % host):
            continue
        addr = split(rep["udp_seen_as"][0])[0]
        print("%s leaves as %s" % (host, addr))
        check(pool.has(addr), "%s seen as %s, not a pool address" % (host, addr))
        lines.append("%s %s\n" % (host, addr))
    print("server saw: " + " ".join("%s:%d" % split(p) for p in srv["udp_peers"]))
    for p in srv["udp_peers"]:
        check(pool.has(split(p)[0]), "the server saw %s:%d, not a pool address" % split(p))
    check(len(srv["udp_peers"]) == len(lines),
          "the server saw %d peers for %d flows" % (len(srv["udp_peers"]), len(lines)))
    if not FAILS:
        with open(a.seen, "w") as f:
            f.writelines(lines)


def worker_sum(nat, key):
    return sum(w.get(key, 0) for w in nat.values())


def cmd_flows(a):
    pool = Pool(a.pool, a.ports)
    seen = read_seen(a.seen)
    before = json.load(open(os.path.join(a.dir, "before.json")))
    after = json.load(open(os.path.join(a.dir, "after.json")))
    srv = json.load(open(os.path.join(a.dir, "server-7000.json")))
    clients = sorted(glob.glob(os.path.join(a.dir, "client.*.json")))
    tcp_total = a.tcp * len(clients)
    udp_total = a.udp * len(clients)
    tcp_seen, udp_seen = [], []

    for path in clients:
        ns = os.path.basename(path)[len("client."):-len(".json")]
        host = "192.0.2.%d" % (10 + int(ns[len("eph-h"):]))
        try:
            c = json.load(open(path))
        except ValueError:
            check(False, "%s: the client wrote no report" % ns)
            continue
        print("%s (%s): tcp ok %d failed %d held %d, udp ok %d failed %d retried %d" % (
            ns, host, c["tcp_ok"], c["tcp_failed"], c["tcp_held_at_once"], c["udp_ok"],
            c["udp_failed"], c.get("udp_retried", 0)))
        check(c["tcp_ok"] == a.tcp and c["tcp_failed"] == 0,
              "%s: %d of %d TCP connections answered" % (ns, c["tcp_ok"], a.tcp))
        check(c["tcp_held_at_once"] == a.tcp,
              "%s: %d of %d TCP connections open at once" % (ns, c["tcp_held_at_once"], a.tcp))
        check(c["udp_ok"] == a.udp and c["udp_failed"] == 0,
              "%s: %d of %d UDP flows answered" % (ns, c["udp_ok"], a.udp))
        peers = c["tcp_seen_as"] + c["udp_seen_as"]
        addrs = sorted({split(p)[0] for p in peers})
        check(len(addrs) == 1, "%s seen as %d addresses %s: pooling is paired"
              % (ns, len(addrs), addrs[:4]))
        if addrs and host in seen:
            check(addrs == [seen[host]], "%s seen as %s, earlier as %s"
                  % (ns, addrs, seen[host]))
        bad = pool.bad_peers(peers)
        check(not bad, "%s: %d peers outside the pool %s ports %s, e.g. %s"
              % (ns, len(bad), a.pool, a.ports, bad[:3]))
        if a.workers > 1 and peers:
            residues = sorted({split(p)[1] % a.workers for p in peers})
            check(len(residues) == 1, "%s: outside ports from %d workers' shares %s "
                  "(a host lives on one worker)" % (ns, len(residues), residues))
            print("  %s -> %s, every port = %d mod %d (one worker's share)"
                  % (host, addrs[0] if addrs else "?", residues[0], a.workers))
        tcp_seen += c["tcp_seen_as"]
        udp_seen += c["udp_seen_as"]

    # What the server itself saw.
    tcp_peers = ["%s:%d" % split(p) for p in srv["tcp_peers"]]
    udp_peers = ["%s:%d" % split(p) for p in srv["udp_peers"]]
    print("server: %d TCP connections, %d distinct peers, at most %d live at once, "
          "reuse while live %d; %d UDP datagrams from %d peers" % (
              srv["tcp_connections"], len(tcp_peers), srv["tcp_max_live"],
              srv["tcp_reuse_while_live"], srv["udp_datagrams"], len(udp_peers)))
    print("server saw the addresses: %s" % " ".join(sorted({split(p)[0] for p in tcp_peers + udp_peers})))
    check(srv["tcp_connections"] == tcp_total,
          "server accepted %d TCP connections, %d opened" % (srv["tcp_connections"], tcp_total))
    check(srv["tcp_max_live"] >= tcp_total,
          "server had at most %d connections live at once, %d expected" % (srv["tcp_max_live"], tcp_total))
    check(srv["tcp_reuse_while_live"] == 0,
          "%d TCP connections arrived from an outside ip:port already live" % srv["tcp_reuse_while_live"])
    check(len(tcp_peers) == tcp_total,
          "%d distinct outside ip:port for %d TCP connections" % (len(tcp_peers), tcp_total))
    check(len(udp_peers) == udp_total,
          "%d distinct outside ip:port for %d UDP flows" % (len(udp_peers), udp_total))
    check(srv["udp_datagrams"] >= udp_total,
          "server received %d datagrams for %d flows" % (srv["udp_datagrams"], udp_total))
    bad = pool.bad_peers(tcp_peers + udp_peers)
    check(not bad, "server saw %d peers outside pool %s ports %s, e.g. %s" % (len(bad), a.pool, a.ports, bad[:3]))
    check(sorted(tcp_peers) == sorted(tcp_seen),
          "the server's TCP peers differ from what the clients were told")
    check(sorted(udp_peers) == sorted(udp_seen),
          "the server's UDP peers differ from what the clients were told")

    # The gateway's own account.
    nb, na = before["nat"], after["nat"]

    def d(key):
        return worker_sum(na, key) - worker_sum(nb, key)
    print("gateway: sessions_created +%d, port_allocations +%d, in2out +%d, out2in +%d, "
          "handoff_out +%d, handoff_in +%d, alloc_exhausted +%d" % (
              d("sessions_created"), d("port_allocations"), d("in2out"), d("out2in"),
              d("handoff_out"), d("handoff_in"), d("alloc_exhausted")))
    for w, v in sorted(na.items()):
        print("  %s: sessions %d, hosts %d, handoff_out %d, handoff_in %d, in2out %d, out2in %d"
              % (w, v["sessions"], v["hosts"], v["handoff_out"], v["handoff_in"],
                 v["in2out"], v["out2in"]))
    check(d("sessions_created") >= tcp_total + udp_total,
          "sessions_created went up by %d for %d flows" % (d("sessions_created"), tcp_total + udp_total))
    check(d("port_allocations") >= tcp_total + udp_total,
          "port_allocations went up by %d for %d flows" % (d("port_allocations"), tcp_total + udp_total))
    check(d("alloc_exhausted") == 0, "alloc_exhausted went up by %d" % d("alloc_exhausted"))
    drops = {k: after["drops"][k] - before["drops"].get(k, 0) for k in after["drops"]}
    nonzero = {k: v for k, v in drops.items() if v}
    print("drops during the test: %s" % (nonzero or "none"))
    check(not nonzero, "the gateway dropped packets: %s" % nonzero)
    check(after["drops"].get("nat_handoff_full", 0) == 0,
          "nat_handoff_full is %d" % after["drops"].get("nat_handoff_full", 0))
    for port, v in after["ports"].items():
        for key in ("hw_rx_missed", "hw_rx_nombuf", "hw_rx_errors", "hw_tx_errors"):
            delta = v.get(key, 0) - before["ports"][port].get(key, 0)
            check(delta == 0, "port %s: %s went up by %d" % (port, key, delta))
    if a.workers > 1:
        check(d("handoff_out") > 0, "no packet was handed to another worker (handoff_out +0)")
        check(d("handoff_in") > 0, "no worker received a handoff (handoff_in +0)")
        check(worker_sum(na, "handoff_out") == worker_sum(na, "handoff_in"),
              "handoff_out %d != handoff_in %d: packets lost between workers"
              % (worker_sum(na, "handoff_out"), worker_sum(na, "handoff_in")))

    # The allocator while every connection was open.
    held = json.load(open(os.path.join(a.dir, "pools-held.json")))
    in_use = sum(e["ports_in_use"] for e in held.values())
    print("while held: %d ports in use: %s" % (in_use, ", ".join(
        "%s %d" % (e["address"], e["ports_in_use"]) for e in held.values())))
    check(in_use >= tcp_total, "only %d ports in use while %d TCP connections were open" % (in_use, tcp_total))
    try:
        dest = json.load(open(os.path.join(a.dir, "destinations-held.json")))
        for e in sorted(dest.values(), key=lambda e: -e["live"])[:6]:
            print("  busiest: worker %d %s -> %s:%d/%s live %d resting %d share %d (%d%%)" % (
                e["worker"], e["outside"], e["remote"], e["remote_port"], e["proto"],
                e["live"], e["resting"], e["share"], e["occupancy_pct"]))
    except (OSError, ValueError):
        pass


def cmd_exhaustion(a):
    pool = Pool(a.pool, a.ports)
    r = json.load(open(os.path.join(a.dir, "exhaust.json")))
    srv = json.load(open(a.server_report))
    before = json.load(open(os.path.join(a.dir, "pools-before.json")))
    after = json.load(open(os.path.join(a.dir, "pools-after.json")))
    print(json.dumps({k: v for k, v in r.items() if not k.endswith("_seen")}))
    share = r.get("share", 0)
    a_ports = sorted(split(p)[1] for p in r.get("a_seen", []))
    d_ports = sorted(split(p)[1] for p in r.get("d_seen", []))
    addrs = sorted({split(p)[0] for p in r.get("a_seen", []) + r.get("d_seen", [])})
    print("worker share %d of %s with %d worker(s): ports %s; after recovery %s"
          % (share, a.ports, a.workers, a_ports, d_ports))
    if not check(r.get("a_answered", 0) > 0, "no flow got an answer at all"):
        return
    check(r["a_answered"] == share,
          "%d of %d new flows answered, the worker's share is %d" % (r["a_answered"], r["flows"], share))
    check(r["a_unanswered"] == r["flows"] - share,
          "%d flows unanswered, %d expected" % (r["a_unanswered"], r["flows"] - share))
    check(len(addrs) == 1 and pool.has(addrs[0]), "flows seen as %s" % addrs)
    bad = pool.bad_peers(r["a_seen"] + r["d_seen"])
    check(not bad, "ports outside %s: %s" % (a.ports, bad))
    check(len({p % a.workers for p in a_ports + d_ports}) == 1,
          "ports from several workers' shares: %s" % (a_ports + d_ports))
    dest = r.get("b_destination") or []
    if check(len(dest) == 1, "/ephemera/destinations had %d entries for the destination" % len(dest)):
        print("destination at exhaustion: %s" % dest[0])
        check(dest[0]["share"] == share, "/ephemera/destinations share %d, expected %d"
              % (dest[0]["share"], share))
        check(dest[0]["live"] == share and dest[0]["occupancy_pct"] == 100,
              "/ephemera/destinations live %d (%d%%) at exhaustion, share %d"
              % (dest[0]["live"], dest[0]["occupancy_pct"], share))
    check(r["b_established_answered"] == 1, "the established flow got no answer after exhaustion")
    check(r["b_new_answered"] == 0, "a new flow got an answer while the share was exhausted")
    print("ports came back after %.1f s" % r["c_recovered_after_s"])
    check(not r["c_destination"] or all(e["live"] == 0 and e["resting"] == 0 for e in r["c_destination"]),
          "the destination's ports did not come back: %s" % r["c_destination"])
    check(r["d_answered"] == share, "after recovery %d of %d new flows answered" % (r["d_answered"], share))
    check(r["d_unanswered"] == 1, "after recovery %d flows beyond the share unanswered, 1 expected"
          % r["d_unanswered"])
    check(sorted(set(d_ports)) == sorted(set(a_ports)),
          "after recovery ports %s, before %s: not the same share" % (d_ports, a_ports))
    want = r["flows"] - share + 2
    print("nat_exhausted +%d, unanswered %d, expected %d" % (a.exhausted_delta, r["unanswered_total"], want))
    check(a.exhausted_delta == want, "nat_exhausted went up by %d, %d flows were refused"
          % (a.exhausted_delta, want))
    check(r["unanswered_total"] == want, "%d datagrams unanswered, %d expected" % (r["unanswered_total"], want))
    # /ephemera/pools: the refusals are the address's.
    ex = {e["address"]: e["exhausted"] for e in after.values()}
    ex0 = {e["address"]: e["exhausted"] for e in before.values()}
    if addrs:
        delta = ex.get(addrs[0], 0) - ex0.get(addrs[0], 0)
        print("/ephemera/pools %s: exhausted %d (+%d)" % (addrs[0], ex.get(addrs[0], 0), delta))
        check(ex.get(addrs[0], 0) > 0, "/ephemera/pools shows no exhaustion for %s" % addrs[0])
        check(delta == want, "/ephemera/pools exhausted went up by %d, expected %d" % (delta, want))
    # The server: only answered flows reached it, from the share's ports.
    peers = ["%s:%d" % split(p) for p in srv["udp_peers"]]
    print("server: %d datagrams from %d peers: %s" % (srv["udp_datagrams"], len(peers), " ".join(peers)))
    check(srv["udp_datagrams"] == r["a_answered"] + r["b_established_answered"] + r["d_answered"],
          "server received %d datagrams, %d were answered" % (
              srv["udp_datagrams"], r["a_answered"] + r["b_established_answered"] + r["d_answered"]))
    check(sorted({split(p)[1] for p in peers}) == sorted(set(a_ports)),
          "server saw ports %s, the share's are %s" % (sorted({split(p)[1] for p in peers}), a_ports))
    check(not pool.bad_peers(peers), "server saw peers outside the pool: %s" % pool.bad_peers(peers))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("addresses")
    s.add_argument("--seen-in", required=True)
    s.add_argument("--server-report", required=True)
    s.add_argument("--pool", required=True)
    s.add_argument("--seen", required=True, help="file to write")
    for name in ("flows", "exhaustion"):
        s = sub.add_parser(name)
        s.add_argument("--dir", required=True)
        s.add_argument("--pool", required=True)
        s.add_argument("--ports", required=True)
        s.add_argument("--workers", type=int, default=1)
        if name == "flows":
            s.add_argument("--tcp", type=int, required=True, help="per client")
            s.add_argument("--udp", type=int, required=True, help="per client")
            s.add_argument("--seen")
        else:
            s.add_argument("--exhausted-delta", type=int, required=True)
            s.add_argument("--server-report", required=True)
    a = p.parse_args()
    {"addresses": cmd_addresses, "flows": cmd_flows, "exhaustion": cmd_exhaustion}[a.mode](a)
    print("%d check(s) failed" % len(FAILS) if FAILS else "all checks passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
