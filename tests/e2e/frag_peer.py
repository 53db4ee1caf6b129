#!/usr/bin/env python3
"""Large UDP datagrams for the fragment tests: the IP layer of each end cuts
them into fragments, the gateway translates the fragments, the other end's
IP layer joins them again.

    frag_peer.py server ADDR PORT LIFETIME_S
        log "from IP:PORT LEN SHA256" per datagram and send the same bytes back
    frag_peer.py client ADDR PORT SIZE [COUNT [df-clear]]
        send COUNT datagrams of SIZE random bytes, each answered by the same
        bytes; print "sent LEN SHA256" and "answered LEN SHA256" per
        datagram, exit 1 on a missing or different answer. df-clear: DF
        never set (IP_PMTUDISC_DONT), whatever the path MTU, so a router on
        a smaller link must cut them
"""

import hashlib
import os
import socket
import sys
import time

# <linux/in.h>; the socket module names them only from Python 3.12 on.
IP_MTU_DISCOVER = getattr(socket, "IP_MTU_DISCOVER", 10)
IP_PMTUDISC_DONT = getattr(socket, "IP_PMTUDISC_DONT", 0)


def server(addr, port, lifetime):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((addr, port))
    deadline = time.monotonic() + lifetime
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return 0
        sock.settimeout(left)
        try:
            data, peer = sock.recvfrom(65535)
        except socket.timeout:
            return 0
        print("from %s:%d %d %s" % (peer[0], peer[1], len(data),
                                     hashlib.sha256(data).hexdigest()), flush=True)
        sock.sendto(data, peer)


def client(addr, port, size, count, df_clear=False):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if df_clear:
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.connect((addr, port))
    for i in range(count):
        data = os.urandom(size)
        print("sent %d %s" % (len(data), hashlib.sha256(data).hexdigest()), flush=True)
        got = None
        for _ in range(3):  # a datagram lost on the way is sent again, at most twice
            sock.send(data)
            sock.settimeout(3)
            try:
                got = sock.recv(65535)
                break
            except socket.timeout:
                print("no answer to datagram %d, again" % i, flush=True)
        if got is None:
            print("datagram %d of %d bytes: no answer" % (i, size), flush=True)
            return 1
        if got != data:
            print("datagram %d: answer of %d bytes differs from the %d sent"
                  % (i, len(got), size), flush=True)
            return 1
        print("answered %d %s" % (len(got), hashlib.sha256(got).hexdigest()), flush=True)
    return 0


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "server":
        return server(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    if len(sys.argv) >= 5 and sys.argv[1] == "client":
        count = int(sys.argv[5]) if len(sys.argv) > 5 else 1
        df_clear = len(sys.argv) > 6 and sys.argv[6] == "df-clear"
        return client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), count, df_clear)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
