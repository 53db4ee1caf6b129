#!/usr/bin/env python3
"""D-SACK through the FTP gateway (tests/e2e/test_ftp.sh, test_ftp_sack).

  ftp_dsack.py replay PCAP SERVER   send again, from this host, the last
                                    NOOP it sent to SERVER:21 (in PCAP)
  ftp_dsack.py check PCAP SERVER    the server's answer to that copy carries
                                    a D-SACK block naming exactly its bytes,
                                    in this host's sequence space

The copy is old data to the server: it answers with a duplicate ACK whose
SACK block (RFC 2883) names the copy's bytes in the server's sequence
space; after a PORT/EPRT rewrite that changed the command's length the
gateway must move the block back by the offset. PCAP: tcpdump's classic
format on an Ethernet interface. Contacts SERVER only.
"""
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def segments(path):
    """(ip bytes, src, dst, sport, dport, seq, ack, tcp options, payload) of each IPv4 TCP frame."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        if ip[9] != 6:
            continue
        ip = ip[:tot]
        tcp = ip[ihl:]
        sport, dport, seq, ack, doff = struct.unpack("!HHIIB", tcp[:13])
        thl = (doff >> 4) * 4
        yield (ip, socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]),
               sport, dport, seq, ack, tcp[20:thl], tcp[thl:])


def sack_blocks(opts):
    i, blocks = 0, []
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        ln = opts[i + 1]
        if ln < 2:
            break
        if kind == 5:
            v = opts[i + 2:i + ln]
            blocks += [struct.unpack("!II", v[j:j + 8]) for j in range(0, len(v) - 7, 8)]
        i += ln
    return blocks


def main():
    op, pcap, server = sys.argv[1:4]
    segs = list(segments(pcap))
    sent = [s for s in segs if s[2] == server and s[4] == 21 and s[8] == b"NOOP\r\n"]
    if not sent:
        print("FAIL no NOOP to %s:21 in %s" % (server, pcap))
        return 1
    ip, src, dst, sport, dport, seq, _, _, _ = sent[-1]
    end = seq + 6
    if op == "replay":
        ihl = (ip[0] & 15) * 4
        hdr = bytearray(ip[:ihl])
        hdr[10:12] = b"\0\0"
        hdr[10:12] = struct.pack("!H", csum(bytes(hdr)))
        tcp = bytearray(ip[ihl:])
        tcp[16:18] = b"\0\0"
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp))
        tcp[16:18] = struct.pack("!H", csum(pseudo + bytes(tcp)))
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.sendto(bytes(hdr) + bytes(tcp), (dst, 0))
        print("OK replayed NOOP seq %d:%d from %s:%d" % (seq, end, src, sport))
        return 0
    # The replayed NOOP: the one sent twice (another may have followed it).
    twice = [s[5] for s in sent if sum(1 for t in sent if t[5] == s[5]) >= 2]
    if twice:
        seq, end = twice[0], twice[0] + 6
    copies = [s for s in sent if s[5] == seq]
    blocks = [(s[6], sack_blocks(s[7])) for s in segs
              if s[1] == server and s[3] == 21 and s[4] == sport and sack_blocks(s[7])]
    print("NOOP copies sent: %d, seq %d:%d; SACK blocks received (ack, blocks): %s"
          % (len(copies), seq, end, blocks))
    if len(copies) < 2:
        print("FAIL the NOOP was not sent twice")
        return 1
    if not blocks:
        print("FAIL the server's answers carried no SACK block")
        return 1
    for ack, bl in blocks:
        if (seq, end) in bl:
            print("OK D-SACK %d:%d (ack %d) names the copy's bytes" % (seq, end, ack))
            return 0
    print("FAIL no SACK block names %d:%d: %s (left edges off by %s)"
          % (seq, end, blocks, [b[0] - seq for _, bl in blocks for b in bl]))
    return 1


if __name__ == "__main__":
    sys.exit(main())
