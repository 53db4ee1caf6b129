#!/usr/bin/env python3
"""Judge the NAT end-to-end tests from what both sides reported.

addresses   the pool address every inside host is seen as (writes --seen)
flows       the 2,000-flow test: clients' reports, the server's record of
            every peer, and the gateway's counters before and after
range       the port range test: nat_probe.py range's report, the server's
            record, nat_exhausted, /ephemera/pools and the lending counters

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


LENDING = ("borrow_requests", "ports_borrowed", "ports_lent", "loans_returned",
           "lend_refused", "loans_lost")


def share_of(lo, hi, workers, w):
    return sum(1 for p in range(lo, hi + 1) if p % workers == w)


def check_round(a, r, ph, label, extra, size, lo, hi):
    """One round of nat_probe.py range: the whole range answered, each flow
    again, the next one refused, the counters moved by exactly that."""
    seen = r.get(label + "_seen", [])
    ports = sorted(split(p)[1] for p in seen)
    addrs = sorted({split(p)[0] for p in seen})
    print("%s: %d of %d flows answered in %.2f s (%d asked again), from %s, ports %s..%s"
          % (label, r[label + "_answered"], size, r[label + "_s"], r[label + "_resent"],
             addrs, ports[:3], ports[-3:]))
    check(r[label + "_answered"] == size,
          "%s: %d new flows answered, the range holds %d ports (%d workers)"
          % (label, r[label + "_answered"], size, a.workers))
    check(ports == list(range(lo, hi + 1)),
          "%s: the outside ports are not the range %d-%d each once: %d ports, %d distinct, "
          "missing %s" % (label, lo, hi, len(ports), len(set(ports)),
                          sorted(set(range(lo, hi + 1)) - set(ports))[:10]))
    check(addrs == [a.address], "%s: flows seen as %s, not only the paired %s"
          % (label, addrs, a.address))
    check(r[label + "_again_answered"] == r[label + "_answered"],
          "%s: %d of %d flows answered again after the range was in use"
          % (label, r[label + "_again_answered"], r[label + "_answered"]))
    check(r[label + "_again_same_peer"] == r[label + "_again_answered"],
          "%s: %d flows seen from another outside ip:port the second time"
          % (label, r[label + "_again_answered"] - r[label + "_again_same_peer"]))
    check(r[extra + "_answered"] == 0, "%s: the flow beyond the range was answered, seen as %s"
          % (extra, r.get(extra + "_seen")))
    if a.proto_udp:
        check(r[label + "_oldest_idle_s"] < a.udp_timeout,
              "%s: the test was too slow: a flow was idle %.1f s before it was asked again, "
              "the UDP timeout is %d s" % (label, r[label + "_oldest_idle_s"], a.udp_timeout))
    before, after = ph["start" if label == "a" else "recovered"], ph[extra]
    refused = r[label + "_refused_packets"]
    for key, what in (("nat_exhausted", "drop nat_exhausted"),
                      ("pool_exhausted", "/ephemera/pools exhausted of " + a.address)):
        d = after[key] - before[key]
        print("%s: %s +%d for %d refused packet(s)" % (label, what, d, refused))
        check(d == refused, "%s: %s went up by %d, %d packet(s) were refused"
              % (label, what, d, refused))
    check(refused == 1, "%s: %d packets refused, 1 expected (the flow beyond the range)"
          % (label, refused))
    delta = {k: after[k] - before[k] for k in LENDING}
    print("%s: lending %s" % (label, " ".join("%s +%d" % kv for kv in delta.items())))
    if a.workers == 1:
        check(not any(delta.values()), "%s: lending counters moved with one worker: %s"
              % (label, delta))
        return
    # The host's worker borrows what its own share cannot hold, and every
    # other worker lends its whole share.
    wb = {int(w): after["workers"][w][0] - before["workers"].get(w, [0, 0])[0]
          for w in after["workers"]}
    wl = {int(w): after["workers"][w][1] - before["workers"].get(w, [0, 0])[1]
          for w in after["workers"]}
    borrowers = [w for w, n in wb.items() if n]
    print("%s: borrowed by worker %s, lent by worker %s" % (label, wb, wl))
    if not check(len(borrowers) == 1, "%s: %d workers borrowed ports for one host: %s"
                 % (label, len(borrowers), wb)):
        return
    owner = borrowers[0]
    want = size - share_of(lo, hi, a.workers, owner)
    print("%s: the host's worker is %d (its share %d ports): %d borrowed expected"
          % (label, owner, size - want, want))
    check(delta["ports_borrowed"] == want,
          "%s: ports_borrowed +%d, %d ports beyond the worker's share were in use"
          % (label, delta["ports_borrowed"], want))
    for w in sorted(wl):
        lent = 0 if w == owner else share_of(lo, hi, a.workers, w)
        check(wl[w] == lent, "%s: worker %d lent %d ports, its share is %d"
              % (label, w, wl[w], lent))
    check(delta["ports_lent"] == delta["ports_borrowed"],
          "%s: ports_lent +%d, ports_borrowed +%d" % (label, delta["ports_lent"],
                                                      delta["ports_borrowed"]))
    check(delta["borrow_requests"] >= want + refused,
          "%s: borrow_requests +%d for %d borrowed and %d refused"
          % (label, delta["borrow_requests"], want, refused))
    check(delta["lend_refused"] >= refused,
          "%s: lend_refused +%d, %d flow(s) found every share exhausted"
          % (label, delta["lend_refused"], refused))
    check(after["loans_lost"] == 0, "%s: loans_lost is %d" % (label, after["loans_lost"]))


def cmd_range(a):
    lo, hi = port_range(a.ports)
    size = hi - lo + 1
    r = json.load(open(os.path.join(a.dir, "range.json")))
    srv = json.load(open(a.server_report))
    ph = r["phases"]
    a.proto_udp = r["proto"] == "udp"
    print("%s to one destination, ports %d-%d (%d), %d worker(s)"
          % (r["proto"].upper(), lo, hi, size, a.workers))
    for name in ("start", "a", "a_extra", "recovered", "d", "d_extra", "end"):
        print("  %-9s %s" % (name, json.dumps({k: v for k, v in ph[name].items()
                                               if k != "workers"})))
    check(r["start_settled"], "the gateway had loans outstanding before the test: %s" % ph["start"])
    check_round(a, r, ph, "a", "a_extra", size, lo, hi)
    print("ports and loans back after %.1f s: %s" % (ph["recover_wait_s"], r["recovered"]))
    check(r["recovered"], "the ports did not come back within the wait: destination %s, "
          "counters %s" % (r["recovered_destination"], ph["recovered"]))
    start, rec, end = ph["start"], ph["recovered"], ph["end"]
    if a.workers > 1:
        lent = rec["ports_lent"] - start["ports_lent"]
        back = rec["loans_returned"] - start["loans_returned"]
        check(lent > 0, "no port was lent (ports_lent +0) with %d workers" % a.workers)
        check(back == lent, "after recovery loans_returned +%d, ports_lent +%d" % (back, lent))
    check_round(a, r, ph, "d", "d_extra", size, lo, hi)
    a_ports = sorted(split(p)[1] for p in r.get("a_seen", []))
    d_ports = sorted(split(p)[1] for p in r.get("d_seen", []))
    check(a_ports == d_ports, "after recovery ports %s..., before %s..." % (d_ports[:5], a_ports[:5]))
    if a.workers == 1:
        check(not any(end[k] for k in LENDING),
              "lending counters with one worker: %s" % {k: end[k] for k in LENDING})
    else:
        check(end["ports_lent"] == end["ports_borrowed"],
              "in total ports_lent %d, ports_borrowed %d" % (end["ports_lent"], end["ports_borrowed"]))
        if not a.proto_udp:
            check(r["end_settled"] and end["loans_returned"] == end["ports_lent"],
                  "after the connections closed loans_returned %d, ports_lent %d"
                  % (end["loans_returned"], end["ports_lent"]))
    check(end["handoff_out"] == end["handoff_in"],
          "handoff_out %d != handoff_in %d" % (end["handoff_out"], end["handoff_in"]))

    # The far side: every port of the range, from the paired address only.
    want = sorted((a.address, p) for p in range(lo, hi + 1))
    answered = r["a_datagrams_answered"] + r["d_datagrams_answered"]
    if a.proto_udp:
        peers = sorted(split(p) for p in srv["udp_peers"])
        print("server: %d datagrams from %d peers, ports %s..%s" % (
            srv["udp_datagrams"], len(peers), [p for _, p in peers[:3]], [p for _, p in peers[-3:]]))
        if r["a_resent"] + r["d_resent"] == 0:
            check(srv["udp_datagrams"] == answered,
                  "server received %d datagrams, %d were answered" % (srv["udp_datagrams"], answered))
        else:
            check(srv["udp_datagrams"] >= answered,
                  "server received %d datagrams, %d were answered" % (srv["udp_datagrams"], answered))
    else:
        peers = sorted(split(p) for p in srv["tcp_peers"])
        print("server: %d connections from %d distinct peers (at most %d live at once), ports %s..%s"
              % (srv["tcp_connections"], len(peers), srv["tcp_max_live"],
                 [p for _, p in peers[:3]], [p for _, p in peers[-3:]]))
        check(srv["tcp_connections"] == 2 * size,
              "server accepted %d connections, %d were answered" % (srv["tcp_connections"], 2 * size))
        check(srv["tcp_max_live"] >= size,
              "server had at most %d connections at once, %d were held" % (srv["tcp_max_live"], size))
        check(srv["tcp_reuse_while_live"] == 0,
              "%d connections came from an outside ip:port already live" % srv["tcp_reuse_while_live"])
    check(peers == want, "server saw %d distinct peers, the range is %d ports of %s; e.g. %s"
          % (len(peers), size, a.address, [p for p in peers if p not in want][:3]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("addresses")
    s.add_argument("--seen-in", required=True)
    s.add_argument("--server-report", required=True)
    s.add_argument("--pool", required=True)
    s.add_argument("--seen", required=True, help="file to write")
    for name in ("flows", "range"):
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
            s.add_argument("--address", required=True, help="the pool address of the host")
            s.add_argument("--udp-timeout", type=int, required=True)
            s.add_argument("--server-report", required=True)
    a = p.parse_args()
    {"addresses": cmd_addresses, "flows": cmd_flows, "range": cmd_range}[a.mode](a)
    print("%d check(s) failed" % len(FAILS) if FAILS else "all checks passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
