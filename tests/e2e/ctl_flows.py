#!/usr/bin/env python3
"""Traffic with known endpoints for the control-plane end-to-end tests,
against the flows.py server (TCP: each line comes back as "PEER LINE";
UDP: each datagram comes back as "PEER " + datagram, PEER being the
ip:port the server saw).

udp     N UDP flows, one socket each (optionally from known source ports),
        each answered once; prints every flow's inside and seen ip:port.
tcp     N TCP connections, each proving itself with one round trip; held
        open until a file appears when asked to.
hold    one long-lived TCP connection driven by command files DIR/cmd.N
        ("exchange BYTES" or "close"), each answered in DIR/res.N (JSON);
        DIR/res.0 says which inside and seen ip:port it has.
stream  N UDP datagrams from one socket at a steady rate, every echo
        counted by sequence number.

Output is JSON on stdout. Everything is bounded in time; only the
addresses given are contacted.
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


# ---- udp -----------------------------------------------------------------

def cmd_udp(a):
    socks = []
    for i in range(a.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.source, a.sport + i if a.sport else 0))
        s.setblocking(False)
        socks.append(s)
    seen, bad = {}, 0
    pending = set(range(a.count))
    for _ in range(a.tries):
        for i in sorted(pending):
            socks[i].sendto(b"flow %d" % i, (a.server, a.port))
        deadline = time.monotonic() + a.wait
        while pending and time.monotonic() < deadline:
            for i in list(pending):
                try:
                    data = socks[i].recv(2048)
                except BlockingIOError:
                    continue
                peer, _, tag = data.decode().partition(" ")
                if tag != "flow %d" % i:
                    bad += 1
                    continue
                seen[i] = peer
                pending.discard(i)
            time.sleep(0.005)
        if not pending:
            break
    flows = [{"inside": endpoint(s.getsockname()), "seen": seen.get(i)}
             for i, s in enumerate(socks)]
    for s in socks:
        s.close()
    json.dump({"ok": len(seen), "unanswered": len(pending), "bad": bad, "flows": flows},
              sys.stdout)
    print()
    return 0


# ---- tcp -----------------------------------------------------------------

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


def connect(a, sport=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.source, sport))
    s.settimeout(a.timeout)
    s.connect((a.server, a.port))
    return s


def cmd_tcp(a):
    conns, flows, failed = [], [], 0
    for i in range(a.count):
        try:
            s = connect(a, a.sport + i if a.sport else 0)
            s.sendall(b"hello %d\n" % i)
            line, _ = readline(s, b"", a.timeout)
            peer, _, tag = line.partition(" ")
            if tag != "hello %d" % i:
                raise ValueError("answer %r" % line)
            flows.append({"inside": endpoint(s.getsockname()), "seen": peer})
            conns.append(s)
        except (OSError, ValueError) as e:
            failed += 1
            print("connection %d: %s" % (i, e), file=sys.stderr)
    if a.held:
        write_json(a.held, {"held": len(conns)})
    if a.release:
        deadline = time.monotonic() + a.hold_max
        while not os.path.exists(a.release) and time.monotonic() < deadline:
            time.sleep(0.05)
    for s in conns:
        s.close()
    json.dump({"ok": len(flows), "failed": failed, "flows": flows}, sys.stdout)
    print()
    return 0


# ---- hold ----------------------------------------------------------------

def exchange(sock, buf, nbytes, timeout):
    """nbytes of random hex in lines of up to 1000; every line must come back."""
    sent = received = 0
    peers = set()
    while sent < nbytes:
        payload = secrets.token_hex(500)[:min(1000, nbytes - sent)]
        sock.sendall(payload.encode() + b"\n")
        sent += len(payload)
        line, buf = readline(sock, buf, timeout)
        peer, _, echoed = line.partition(" ")
        if echoed != payload:
            return {"ok": False, "sent": sent, "received": received, "peers": sorted(peers),
                    "error": "line %d came back altered" % (sent // 1000)}, buf
        received += len(echoed)
        peers.add(peer)
    return {"ok": True, "sent": sent, "received": received, "peers": sorted(peers)}, buf


def cmd_hold(a):
    sock = connect(a)
    buf = b""
    res, buf = exchange(sock, buf, 16, a.timeout)
    res.update(inside=endpoint(sock.getsockname()),
               seen=res["peers"][0] if res["peers"] else None)
    write_json(os.path.join(a.dir, "res.0"), res)
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
        try:
            if words[0] == "exchange":
                res, buf = exchange(sock, buf, int(words[1]), a.timeout)
            elif words[0] == "close":
                # Our FIN, then the server's once it has read everything.
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(a.timeout)
                rest = sock.recv(65536)
                sock.close()
                write_json(res_file, {"ok": rest == b"", "unread": len(rest)})
                return 0
            else:
                res = {"ok": False, "error": "unknown command %r" % words}
        except (OSError, ValueError) as e:
            res = {"ok": False, "error": str(e)}
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


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    for name in ("udp", "tcp", "hold", "stream"):
        s = sub.add_parser(name)
        s.add_argument("--server", required=True)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--source", required=True, help="local address to send from")
        s.add_argument("--timeout", type=float, default=5, help="per answer, seconds")
        if name in ("udp", "tcp"):
            s.add_argument("--count", type=int, required=True)
            s.add_argument("--sport", type=int, default=0,
                           help="first source port (flow i uses SPORT+i); 0: any")
        if name == "udp":
            s.add_argument("--tries", type=int, default=3, help="sends per unanswered flow")
            s.add_argument("--wait", type=float, default=1.5, help="answer wait per try")
        if name == "tcp":
            s.add_argument("--held", help="file written once every connection is answered")
            s.add_argument("--release", help="hold the connections until this file exists")
            s.add_argument("--hold-max", type=float, default=60)
        if name == "hold":
            s.add_argument("--dir", required=True, help="where cmd.N and res.N files live")
            s.add_argument("--max", type=float, default=80, help="lifetime, seconds")
        if name == "stream":
            s.add_argument("--count", type=int, required=True)
            s.add_argument("--rate", type=float, required=True, help="datagrams per second")
            s.add_argument("--wait", type=float, default=3, help="for the last echoes")
    a = p.parse_args()
    return {"udp": cmd_udp, "tcp": cmd_tcp, "hold": cmd_hold, "stream": cmd_stream}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
