#!/usr/bin/env python3
"""Write the seed corpus of fuzz_packet (tests/fuzz/corpus/packet/).

Each seed is a run of records as fuzz_packet.c reads them: an op byte
(port, worker, fix, bind, end of burst; or a clock advance), a 2-byte
length, a selector byte when binding, then an Ethernet frame. Frames are
real ones of the fuzz target's network: inside 192.0.2.0/24 (hosts of
every pool, the lab router .254 with 10.20.0.0/16 behind it), outside
203.0.113.0/24, remotes beyond 203.0.113.10.

    tests/fuzz/gen_packet_seeds.py [DIR]
"""
import os
import struct
import sys

IN, OUT = 0, 1
OP_CLOCK, OP_KEEP_L4, OP_FIX, OP_BIND, OP_HALF, OP_END = 0x80, 0x81, 0x08, 0x10, 0x20, 0x40
LAST = 0xF0  # selector: reply to the last frame the port sent

GW_IN, GW_OUT = "192.0.2.1", "203.0.113.1"
ROUTER, REMOTE, LAB_ROUTER = "203.0.113.10", "198.51.100.10", "192.0.2.254"
HOST_EDM, HOST_EIM, HOST_EDF, HOST_BLK = "192.0.2.11", "192.0.2.70", "192.0.2.130", "192.0.2.200"
LAB_HOST = "10.20.1.5"
POOL_EDM, POOL_EIM = "203.0.113.100", "203.0.113.110"
VIP, VIP_DNAT, LB_LOCAL = "203.0.113.140", "203.0.113.141", "203.0.113.150"

MAC_PORT = (bytes([2, 0, 0, 0, 0, 1]), bytes([2, 0, 0, 0, 1, 1]))
MAC_PEER = (bytes([2, 0, 0, 0, 0, 0x11]), bytes([2, 0, 0, 0, 0, 0x10]))

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10


def addr(a):
    return bytes(int(x) for x in a.split("."))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip(src, dst, proto, payload, ttl=64, df=False, ident=0x1234, total=None, frag=0,
       options=b"", good=True):
    ihl = 5 + len(options) // 4
    tot = total if total is not None else 20 + len(options) + len(payload)
    flags = (0x4000 if df else 0) | frag
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, ident, flags, ttl, proto, 0,
                      addr(src), addr(dst)) + options
    c = csum(hdr) if good else 0xDEAD
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def pseudo(src, dst, proto, length):
    return addr(src) + addr(dst) + struct.pack("!BBH", 0, proto, length)


def udp(src, dst, sport, dport, data=b"fuzz", zero=False):
    length = 8 + len(data)
    h = struct.pack("!HHHH", sport, dport, length, 0) + data
    c = 0 if zero else (csum(pseudo(src, dst, 17, length) + h) or 0xFFFF)
    return h[:6] + struct.pack("!H", c) + h[8:]


def tcp(src, dst, sport, dport, flags, seq=1000, ack=0, data=b"", opts=b""):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (5 + len(opts) // 4) << 4, flags,
                    65535, 0, 0) + opts + data
    c = csum(pseudo(src, dst, 6, len(h)) + h)
    return h[:16] + struct.pack("!H", c) + h[18:]


def icmp(typ, code, rest, data=b"", good=True):
    h = struct.pack("!BBH", typ, code, 0) + rest + data
    c = csum(h) if good else (csum(h) ^ 0x5A5A)
    return h[:2] + struct.pack("!H", c) + h[4:]


def echo(typ, ident, seq=1, data=b"abcdefgh"):
    return icmp(typ, 0, struct.pack("!HH", ident, seq), data)


def eth(port, payload, etype=0x0800):
    return MAC_PORT[port] + MAC_PEER[port] + struct.pack("!H", etype) + payload


def ip_udp(src, dst, sport, dport, data=b"fuzz", **kw):
    return ip(src, dst, 17, udp(src, dst, sport, dport, data), **kw)


def ip_tcp(src, dst, sport, dport, flags, **kw):
    return ip(src, dst, 6, tcp(src, dst, sport, dport, flags), **kw)


def quote_error(src, dst, typ, code, inner, rest=b"\0\0\0\0"):
    """An ICMP error from src to dst quoting inner (an IP packet, header and 8+ bytes)."""
    return ip(src, dst, 1, icmp(typ, code, rest, inner))


def rec(port, frame, worker=0, fix=False, bind=None, half=False, end=False, keep_l4=False):
    op = port | (worker << 1)
    op |= OP_FIX if fix else 0
    op |= OP_HALF if half else 0
    op |= OP_END if end else 0
    out = bytes([OP_KEEP_L4]) if keep_l4 else b""
    if bind is not None:
        op |= OP_BIND
    out += bytes([op]) + struct.pack("!H", len(frame))
    if bind is not None:
        out += bytes([bind])
    return out + frame


def clock(ticks):
    return bytes([OP_CLOCK, min(255, ticks // 2)])


def seeds():
    s = {}
    # One flow per pool out, its reply in (bound to the fixed sessions by selector).
    for k, host in enumerate([HOST_EDM, HOST_EIM, HOST_EDF, HOST_BLK, LAB_HOST]):
        s["udp-out-%d" % k] = rec(IN, eth(IN, ip_udp(host, REMOTE, 7000 + k, 53)), end=True)
        s["udp-out-w%d" % (k % 3)] = rec(IN, eth(IN, ip_udp(host, REMOTE, 7100 + k, 53)),
                                         worker=k % 3, end=True)
    for sel in range(0, 64, 5):
        s["reply-bound-%02d" % sel] = rec(
            OUT, eth(OUT, ip_udp(REMOTE, POOL_EDM, 53, 20000)), fix=True, bind=sel,
            worker=sel % 3)
    # TCP: a connection's life, from both sides, the replies bound to a session.
    life = b""
    for flags, port in [(SYN, IN), (SYN | ACK, OUT), (ACK, IN), (PSH | ACK, IN),
                        (FIN | ACK, IN), (FIN | ACK, OUT), (ACK, IN)]:
        if port == IN:
            life += rec(IN, eth(IN, ip_tcp(HOST_EDM, REMOTE, 41000, 443, flags)), end=True)
        else:
            life += rec(OUT, eth(OUT, ip_tcp(REMOTE, POOL_EDM, 443, 20000, flags)), fix=True,
                        bind=LAST, end=True)
    s["tcp-life"] = life
    # FTP (the edm and eim pools' alg): a control connection's PORT, EPRT, a split command.
    for name, host, pool, cmds in [
            ("ftp-port", HOST_EDM, POOL_EDM, [b"PORT 192,0,2,11,162,0\r\n", b"RETR f\r\n"]),
            ("ftp-eprt", HOST_EIM, POOL_EIM, [b"EPRT |1|192.0.2.70|41600|\r\n"]),
            ("ftp-split", HOST_EDM, POOL_EDM, [b"PORT 192,0,", b"2,11,162,1\r\n",
                                               b"PORT 192,0,2,11,162,2\r\n"])]:
        seq, run = 1000, rec(IN, eth(IN, ip_tcp(host, REMOTE, 41500, 21, SYN)), end=True)
        run += rec(OUT, eth(OUT, ip(REMOTE, pool, 6, tcp(REMOTE, pool, 21, 20000, SYN | ACK,
                                                         seq=7000, ack=1001))),
                   fix=True, bind=LAST, end=True)
        seq += 1
        for cmd in cmds:
            run += rec(IN, eth(IN, ip(host, REMOTE, 6, tcp(host, REMOTE, 41500, 21, PSH | ACK,
                                                           seq=seq, ack=7001, data=cmd))),
                       end=True)
            seq += len(cmd)
            sack = b"\x01\x01\x05\x0a" + struct.pack("!II", seq, seq + 4)
            run += rec(OUT, eth(OUT, ip(REMOTE, pool, 6, tcp(REMOTE, pool, 21, 20000, ACK,
                                                             seq=7001, ack=seq + 2,
                                                             opts=sack))),
                       fix=True, bind=LAST, end=True)
        run += rec(OUT, eth(OUT, ip_tcp(REMOTE, pool, 20, 20001, SYN)), end=True)
        s[name] = run
    s["tcp-rst"] = (rec(IN, eth(IN, ip_tcp(HOST_EIM, REMOTE, 41001, 22, SYN)), end=True) +
                    rec(OUT, eth(OUT, ip_tcp(REMOTE, POOL_EIM, 22, 30000, RST | ACK)),
                        fix=True, bind=LAST, end=True))
    # Endpoint-independent filtering: another remote, TCP SYN, a bare ACK, UDP.
    for name, flags in [("eif-syn", SYN), ("eif-ack", ACK), ("eif-synack", SYN | ACK)]:
        s[name] = rec(OUT, eth(OUT, ip_tcp("198.51.100.77", POOL_EIM, 999, 30000, flags)),
                      fix=True, bind=4, half=True, end=True)
    s["eif-udp"] = rec(OUT, eth(OUT, ip_udp("198.51.100.77", POOL_EIM, 999, 30000)),
                       fix=True, bind=3, half=True, end=True)
    # A mapping reused: same inside port, a new destination.
    s["eim-reuse"] = rec(IN, eth(IN, ip_udp(HOST_EIM, "198.51.100.99", 1, 4444)), fix=True,
                         bind=3, half=True, end=True)
    # ICMP echo both ways, and an identifier 0 with nothing after it.
    s["echo"] = (rec(IN, eth(IN, ip(HOST_EDF, REMOTE, 1, echo(8, 0x4242))), end=True) +
                 rec(OUT, eth(OUT, ip(REMOTE, POOL_EDM, 1, echo(0, 1))), fix=True, bind=2,
                     end=True))
    s["echo-id0"] = (rec(IN, eth(IN, ip(HOST_EDM, REMOTE, 1, echo(8, 0, 0, b""))), end=True) +
                     rec(OUT, eth(OUT, ip(REMOTE, POOL_EDM, 1, echo(0, 0, 0, b""))),
                         fix=True, bind=LAST, end=True))
    s["echo-gateway"] = (rec(IN, eth(IN, ip(HOST_EDM, GW_IN, 1, echo(8, 7)))) +
                         rec(OUT, eth(OUT, ip(REMOTE, GW_OUT, 1, echo(8, 7)))))
    # ICMP errors about sessions: from the remote, a router on the path, inside hosts and
    # the inside router in front of the lab.
    inner = ip_udp(POOL_EDM, REMOTE, 20000, 53)
    for typ, code in [(3, 3), (3, 4), (11, 0), (12, 0)]:
        s["err-out-%d-%d" % (typ, code)] = rec(
            OUT, eth(OUT, quote_error(ROUTER, POOL_EDM, typ, code, inner)), fix=True, bind=0,
            half=True, end=True)
    s["err-out-tcp"] = rec(OUT, eth(OUT, quote_error(REMOTE, POOL_EDM, 3, 1,
                                                     ip_tcp(POOL_EDM, REMOTE, 20000, 80, SYN))),
                           fix=True, bind=1, end=True)
    s["err-out-echo"] = rec(OUT, eth(OUT, quote_error(REMOTE, POOL_EDM, 11, 0,
                                                      ip(POOL_EDM, REMOTE, 1, echo(8, 20000)))),
                            fix=True, bind=2, end=True)
    inner_in = ip_udp(REMOTE, HOST_EDM, 53, 5000)
    s["err-in-host"] = rec(IN, eth(IN, quote_error(HOST_EDM, REMOTE, 3, 3, inner_in)),
                           fix=True, bind=0, end=True)
    # The lab host's flow out, its reply in, then the lab's router reports a problem with
    # that reply: the error and its quote must leave with the pool address only.
    lab = (rec(IN, eth(IN, ip_udp(LAB_HOST, REMOTE, 6001, 123)), end=True) +
           rec(OUT, eth(OUT, ip_udp(REMOTE, POOL_EIM, 123, 1)), fix=True, bind=LAST, end=True))
    s["err-in-router"] = lab + rec(IN, eth(IN, quote_error(LAB_ROUTER, REMOTE, 11, 0,
                                                           ip_udp(ROUTER, LAB_HOST, 123, 6000))),
                                   fix=True, bind=LAST, half=True, end=True)
    s["err-in-host-last"] = lab + rec(IN, eth(IN, quote_error(LAB_HOST, REMOTE, 3, 3,
                                                              ip_udp(ROUTER, LAB_HOST, 1, 2))),
                                      fix=True, bind=LAST, end=True)
    s["err-in-router-unbound"] = rec(IN, eth(IN, quote_error(LAB_ROUTER, REMOTE, 3, 1,
                                                             ip_udp(ROUTER, LAB_HOST, 123, 6000))),
                                     end=True)
    # An ICMP error whose checksum is wrong (its IP header right).
    bad = ip(ROUTER, POOL_EDM, 1, icmp(3, 3, b"\0\0\0\0", inner, good=False))
    s["err-out-bad-cksum"] = rec(OUT, eth(OUT, bad), end=True)
    s["err-out-bad-cksum-bound"] = (
        rec(IN, eth(IN, ip_udp(HOST_EDM, REMOTE, 5001, 53)), end=True) +
        rec(OUT, eth(OUT, bad), fix=True, keep_l4=True, bind=LAST, half=True, end=True))
    # Malformed: lengths, header checksum, options, fragments, TTL, MTU, types.
    host = HOST_EDM
    s["bad-total-long"] = rec(IN, eth(IN, ip_udp(host, REMOTE, 1, 2, total=200)))
    s["bad-total-short"] = rec(IN, eth(IN, ip_udp(host, REMOTE, 1, 2, total=24)))
    s["bad-ip-cksum"] = rec(IN, eth(IN, ip_udp(host, REMOTE, 1, 2, good=False)))
    s["ip-options"] = rec(IN, eth(IN, ip_udp(host, REMOTE, 1, 2, options=b"\x01\x01\x01\x00")))
    s["ip-fragment"] = rec(IN, eth(IN, ip_udp(host, REMOTE, 1, 2, frag=0x2000)))
    s["truncated"] = rec(IN, eth(IN, ip_udp(host, REMOTE, 1, 2))[:30])
    s["l4-truncated"] = rec(IN, eth(IN, ip(host, REMOTE, 6, b"\x13\x88\x00")), fix=True)
    s["ttl1-out"] = rec(IN, eth(IN, ip_udp(host, REMOTE, 1, 2, ttl=1)))
    s["ttl1-in"] = rec(OUT, eth(OUT, ip_udp(REMOTE, POOL_EDM, 53, 20000, ttl=1)), fix=True,
                       bind=0)
    s["too-big-df"] = rec(IN, eth(IN, ip_udp(host, REMOTE, 1, 2, data=bytes(1450), df=True)))
    s["too-big-in"] = rec(OUT, eth(OUT, ip_udp(REMOTE, POOL_EDM, 53, 1, data=bytes(1450))),
                          fix=True, bind=0)
    s["udp-cksum0"] = rec(IN, eth(IN, ip(host, REMOTE, 17, udp(host, REMOTE, 9, 9, zero=True))))
    s["no-route-inside"] = rec(OUT, eth(OUT, ip_udp(REMOTE, "192.0.2.50", 1, 2)))
    s["hairpin"] = rec(IN, eth(IN, ip_udp(host, POOL_EDM, 1, 2)))
    s["arp"] = rec(IN, eth(IN, bytes.fromhex("0001080006040001") + MAC_PEER[0] + addr(host) +
                           bytes(6) + addr(GW_IN), 0x0806))
    s["ipv6"] = rec(IN, eth(IN, bytes(40), 0x86DD))
    s["sctp"] = rec(IN, eth(IN, ip(host, REMOTE, 132, bytes(16))))
    s["runt"] = rec(IN, b"\x02\x00")
    # Limits: one host many destinations (per-host limit, port blocks), then time passes.
    many = b"".join(rec(IN, eth(IN, ip_udp(HOST_EIM, "198.51.100.%d" % d, 5555, 53)))
                    for d in range(1, 13))
    s["host-limit"] = many
    blocks = b"".join(rec(IN, eth(IN, ip_udp(HOST_BLK, REMOTE, 1000 + d, 53)), worker=d % 3)
                      for d in range(24))
    s["port-blocks"] = blocks + clock(200) + blocks
    exhaust = b"".join(rec(IN, eth(IN, ip_udp("192.0.2.%d" % (12 + d), REMOTE, 9, 9)))
                       for d in range(30))
    s["exhaust-edm"] = exhaust + clock(20) + exhaust
    # One host beyond its owner's share of one destination: ports lent by the other
    # workers, replies to them arriving anywhere, then they expire and go back.
    for name, host, pool, lo in [("borrow-edm", HOST_EDM, POOL_EDM, 20000),
                                 ("borrow-eim", HOST_EIM, POOL_EIM, 30000)]:
        borrow = b"".join(
            rec(IN, eth(IN, ip_udp(host, REMOTE, 1000 + d, 9)), worker=d % 3) +
            rec(OUT, eth(OUT, ip_udp(REMOTE, pool, 9, lo)), fix=True, bind=LAST,
                worker=(d + 1) % 3, end=True)
            for d in range(56))
        s[name] = borrow + clock(200) + borrow
    s["expiry"] = (rec(IN, eth(IN, ip_udp(host, REMOTE, 31, 53)), end=True) + clock(100) +
                   rec(OUT, eth(OUT, ip_udp(REMOTE, POOL_EDM, 53, 1)), fix=True, bind=0,
                       end=True) + clock(510) + clock(510) +
                   rec(OUT, eth(OUT, ip_udp(REMOTE, POOL_EDM, 53, 1)), fix=True, bind=0))
    # The balancer: a client's TCP connection to the VIP on several workers, the
    # backend's answers bound to what the inside port sent last, a UDP flow, a
    # destination-NAT connection, an ICMP error from a backend, a refused SYN.
    for w in range(3):
        cport = 40000 + w
        s["lb-tcp-w%d" % w] = (
            rec(OUT, eth(OUT, ip_tcp(REMOTE, VIP, cport, 80, SYN)), worker=w, end=True) +
            rec(IN, eth(IN, ip("10.20.0.11", LB_LOCAL, 6,
                               tcp("10.20.0.11", LB_LOCAL, 8080, 1, SYN | ACK, 5000, 1001))),
                fix=True, bind=LAST, worker=(w + 1) % 3, end=True) +
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6,
                                 tcp(REMOTE, VIP, cport, 80, ACK, 1001, 5001, b"GET /"))),
                worker=w, end=True) +
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6, tcp(REMOTE, VIP, cport, 80, FIN | ACK, 1006,
                                                    5001))), worker=w, end=True) + clock(100))
    # proxy-protocol v2 (VIP port 8443): MSS options, the header on the handshake's
    # last ACK, a SACK of the backend's, the start sent again, a RST.
    mss = bytes([2, 4, 0x05, 0xB4])
    for w in range(3):
        cport = 44000 + w
        s["lb-proxy-w%d" % w] = (
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6, tcp(REMOTE, VIP, cport, 8443, SYN, 1000, 0,
                                                     opts=mss))), worker=w, end=True) +
            rec(IN, eth(IN, ip("10.20.0.11", LB_LOCAL, 6,
                               tcp("10.20.0.11", LB_LOCAL, 8080, 1, SYN | ACK, 5000, 1001,
                                   opts=mss + bytes([1, 1, 4, 2])))),
                fix=True, bind=LAST, worker=(w + 1) % 3, end=True) +
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6, tcp(REMOTE, VIP, cport, 8443, ACK, 1001, 5001))),
                worker=w, end=True) +
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6, tcp(REMOTE, VIP, cport, 8443, ACK, 1001, 5001,
                                                     b"GET /"))), worker=w, end=True) +
            rec(IN, eth(IN, ip("10.20.0.11", LB_LOCAL, 6,
                               tcp("10.20.0.11", LB_LOCAL, 8080, 1, ACK, 5001, 1029,
                                   opts=bytes([1, 1, 5, 10]) + struct.pack("!II", 1100, 1200)))),
                fix=True, bind=LAST, end=True) +
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6, tcp(REMOTE, VIP, cport, 8443, ACK, 1001, 5001,
                                                     b"GET /"))), worker=w, end=True) +
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6, tcp(REMOTE, VIP, cport, 8443, RST, 1006))),
                worker=w, end=True) + clock(100))
    # syn-proxy (VIP ports 8444, and 8445 with proxy-protocol v2): SYNs answered with
    # cookies, ACKs whose cookie does not check, a RST and data with no connection.
    for w, port in enumerate((8444, 8445, 8444)):
        cport = 45000 + w
        s["lb-synproxy-w%d" % w] = (
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6, tcp(REMOTE, VIP, cport, port, SYN, 1000, 0,
                                                     opts=mss + bytes([1, 3, 3, 7])))),
                worker=w, end=True) +
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6, tcp(REMOTE, VIP, cport, port, ACK, 1001, 77))),
                worker=w, end=True) +
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6, tcp(REMOTE, VIP, cport, port, ACK, 1001, 77,
                                                     b"GET /"))), worker=w, end=True) +
            rec(OUT, eth(OUT, ip(REMOTE, VIP, 6, tcp(REMOTE, VIP, cport, port, RST, 1001))),
                worker=w, end=True) + clock(100))
    s["lb-udp"] = (rec(OUT, eth(OUT, ip_udp(REMOTE, VIP, 5353, 53)), end=True) +
                   rec(IN, eth(IN, ip_udp("10.20.0.12", LB_LOCAL, 53, 1)), fix=True, bind=LAST,
                       end=True))
    s["lb-dnat"] = (rec(OUT, eth(OUT, ip_tcp(REMOTE, VIP_DNAT, 41000, 443, SYN)), end=True) +
                    rec(IN, eth(IN, ip("10.20.0.13", REMOTE, 6,
                                       tcp("10.20.0.13", REMOTE, 443, 41000, SYN | ACK, 7000,
                                           1001))), end=True))
    s["lb-icmp-backend"] = (
        rec(OUT, eth(OUT, ip_tcp(REMOTE, VIP, 42000, 80, SYN)), end=True) +
        rec(IN, eth(IN, quote_error("10.20.0.11", LB_LOCAL, 3, 4,
                                    ip_tcp(LB_LOCAL, "10.20.0.11", 60000, 8080, SYN),
                                    rest=b"\0\0\x05\x78")), fix=True, end=True))
    s["lb-no-vip-port"] = rec(OUT, eth(OUT, ip_tcp(REMOTE, VIP, 43000, 81, SYN)), end=True)
    s["lb-ping"] = rec(OUT, eth(OUT, ip(REMOTE, VIP, 1, echo(8, 7))), end=True)
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "packet")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
