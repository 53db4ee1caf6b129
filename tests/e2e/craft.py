#!/usr/bin/env python3
"""Send crafted Ethernet frames to the gateway from inside a test namespace.

    craft.py --list                       # kinds and the drop counter each must hit
    craft.py --iface eth0 --dst-mac MAC [--count N] [--telemetry SOCK] KIND

With --telemetry (the daemon's dpdk_telemetry.v2 socket) the script also
checks that the kind's drop counter in /ephemera/drops went up by exactly N.

Each malformed KIND is a frame the gateway must drop and count under one
reason. `padded_echo` is a valid ICMP echo padded to the 60-byte Ethernet
minimum: it must be forwarded, and the script waits for the echo reply.
Needs CAP_NET_RAW (run as root inside the namespace).
"""

import argparse
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in scripts/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "scripts"))
import telemetry  # noqa: E402  (scripts/telemetry.py)

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_EXPERIMENTAL = 0x88B5  # IEEE 802 local experimental EtherType 1


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack("!H", ethertype) + payload


def icmp_echo(ident, seq, data, bad_csum=False):
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    c = csum(hdr + data)
    if bad_csum:
        c ^= 0x5A5A
    return struct.pack("!BBHHH", 8, 0, c, ident, seq) + data


def ipv4(src, dst, payload, proto=1, ttl=64, version=4, ihl=5, options=b"",
         frag=0, total_len=None, bad_csum=False, ident=0x4545):
    hlen = 20 + len(options)
    if total_len is None:
        total_len = hlen + len(payload)
    fields = [(version << 4) | ihl, 0, total_len, ident, frag, ttl, proto, 0,
              socket.inet_aton(src), socket.inet_aton(dst)]
    hdr = struct.pack("!BBHHHBBH4s4s", *fields) + options
    c = csum(hdr)
    if bad_csum:
        c ^= 0x0101
    fields[7] = c
    return struct.pack("!BBHHHBBH4s4s", *fields) + options + payload


def build(kind, a, seq):
    """Return (ethertype, L2 payload) for one frame of KIND."""
    data = b"ephemera-e2e-" + kind.encode() + b"-" + str(seq).encode()
    echo = icmp_echo(0xE2E, seq, data)
    src, dst = a.src_ip, a.dst_ip
    if kind == "ip_truncated":
        return ETH_P_IP, ipv4(src, dst, echo)[:10]
    if kind == "ip_version":
        return ETH_P_IP, ipv4(src, dst, echo, version=6)
    if kind == "ip_bad_ihl":
        return ETH_P_IP, ipv4(src, dst, echo, ihl=4)
    if kind == "ip_bad_total_length_long":
        return ETH_P_IP, ipv4(src, dst, echo, total_len=20 + len(echo) + 100)
    if kind == "ip_bad_total_length_short":
        return ETH_P_IP, ipv4(src, dst, echo, total_len=19)
    if kind == "ip_bad_checksum":
        return ETH_P_IP, ipv4(src, dst, echo, bad_csum=True)
    if kind == "ip_options":
        # NOP NOP NOP EOL: harmless options, still options.
        return ETH_P_IP, ipv4(src, dst, echo, ihl=6, options=b"\x01\x01\x01\x00")
    # Routed fragments are forwarded; the gateway joins none addressed to itself.
    if kind == "ip_fragment_first":
        return ETH_P_IP, ipv4(src, a.gw_ip, echo, frag=0x2000)   # MF, offset 0
    if kind == "ip_fragment_last":
        return ETH_P_IP, ipv4(src, a.gw_ip, echo, frag=0x0010)   # offset 128 bytes
    if kind == "ip_dst_multicast":
        return ETH_P_IP, ipv4(src, "233.252.0.1", echo)         # MCAST-TEST-NET
    if kind == "ip_src_loopback":
        return ETH_P_IP, ipv4("127.0.0.1", dst, echo)
    if kind == "ttl_expired":
        return ETH_P_IP, ipv4(src, dst, echo, ttl=1)
    if kind == "icmp_bad_checksum":
        return ETH_P_IP, ipv4(src, a.gw_ip, icmp_echo(0xE2E, seq, data, bad_csum=True))
    if kind == "icmp_truncated":
        return ETH_P_IP, ipv4(src, a.gw_ip, echo[:4])
    if kind == "ethertype_unsupported":
        return ETH_P_EXPERIMENTAL, bytes(46)
    if kind == "arp_truncated":
        return ETH_P_ARP, struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 1)
    if kind == "padded_echo":
        return ETH_P_IP, ipv4(src, dst, icmp_echo(0xE2E, seq, b""))
    raise ValueError(kind)


# kind -> drop reason it must increment (None: must be forwarded)
KINDS = {
    "ip_truncated": "ip_truncated",
    "ip_version": "ip_version",
    "ip_bad_ihl": "ip_bad_ihl",
    "ip_bad_total_length_long": "ip_bad_total_length",
    "ip_bad_total_length_short": "ip_bad_total_length",
    "ip_bad_checksum": "ip_bad_checksum",
    "ip_options": "ip_options",
    "ip_fragment_first": "ip_fragment",
    "ip_fragment_last": "ip_fragment",
    "ip_dst_multicast": "ip_not_unicast",
    "ip_src_loopback": "ip_bad_source",
    "ttl_expired": "ttl_exceeded",
    "icmp_bad_checksum": "icmp_invalid",
    "icmp_truncated": "icmp_invalid",
    "ethertype_unsupported": "ethertype_unsupported",
    "arp_truncated": "arp_invalid",
    "padded_echo": None,
}


def wait_echo_replies(sock, src_ip, ident, seqs, timeout):
    """Return how many of the echo requests SEQS got their reply."""
    deadline = time.monotonic() + timeout
    want_src = socket.inet_aton(src_ip)
    pending = set(seqs)
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            frame = sock.recv(2048)
        except socket.timeout:
            break
        if len(frame) < 14 + 28 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 1 or ip[12:16] != want_src:
            continue
        icmp = ip[ihl:]
        if len(icmp) >= 8 and icmp[0] == 0:
            rid, rseq = struct.unpack("!HH", icmp[4:8])
            if rid == ident:
                pending.discard(rseq)
    return len(seqs) - len(pending)


def read_drops(path):
    reply = telemetry.query(path, "/ephemera/drops")
    drops = reply.get("/ephemera/drops") if isinstance(reply, dict) else None
    if not isinstance(drops, dict):
        raise RuntimeError("/ephemera/drops gave %r" % (reply,))
    return drops


def nonzero(drops):
    return " ".join("%s=%s" % (k, v) for k, v in drops.items() if v) or "none"


def check_drops(path, reason, before, count):
    """Wait (3 s at most) for REASON to reach before+count, then make sure it
    stays exactly there. Returns an error message or None."""
    deadline = time.monotonic() + 3.0
    while True:
        drops = read_drops(path)
        if drops.get(reason, 0) >= before + count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    drops = read_drops(path)
    delta = drops.get(reason, 0) - before
    if delta != count:
        return "%s went up by %d, expected %d (nonzero drops now: %s)" % (
            reason, delta, count, nonzero(drops))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--iface", default="eth0")
    ap.add_argument("--dst-mac")
    ap.add_argument("--src-ip", default="192.0.2.11")
    ap.add_argument("--dst-ip", default="203.0.113.10")
    ap.add_argument("--gw-ip", default="192.0.2.1")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--telemetry", metavar="SOCK",
                    help="check the kind's drop counter through this socket")
    ap.add_argument("kind", nargs="?")
    a = ap.parse_args()

    if a.list:
        for k, reason in KINDS.items():
            print(k, reason or "-")
        return 0
    if a.kind not in KINDS or not a.dst_mac:
        ap.error("need --dst-mac and a KIND from --list")

    reason = KINDS[a.kind]
    before = None
    if a.telemetry and reason:
        drops = read_drops(a.telemetry)
        if reason not in drops:
            print("FAIL: /ephemera/drops has no reason %r" % reason)
            return 1
        before = drops[reason]
        print("before: %s" % nonzero(drops))

    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sock.bind((a.iface, 0))
    src_mac = sock.getsockname()[4]
    dst_mac = mac_bytes(a.dst_mac)
    base = os.getpid() & 0x3FFF
    for i in range(a.count):
        ethertype, payload = build(a.kind, a, base + i)
        frame = eth(dst_mac, src_mac, ethertype, payload)
        if a.kind == "padded_echo":
            frame = frame.ljust(60, b"\0")
        sock.send(frame)
    if KINDS[a.kind] is None:
        got = wait_echo_replies(sock, a.dst_ip, 0xE2E,
                                [base + i for i in range(a.count)], a.timeout)
        print("%s: %d/%d echo replies from %s" % (a.kind, got, a.count, a.dst_ip))
        return 0 if got == a.count else 1
    print("%s: sent %d frame(s) of %d bytes" % (a.kind, a.count, len(frame)))
    if before is not None:
        err = check_drops(a.telemetry, reason, before, a.count)
        if err:
            print("FAIL: " + err)
            return 1
        print("%s went up by %d as expected" % (reason, a.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
