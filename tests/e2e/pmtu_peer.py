#!/usr/bin/env python3
"""Peers of the path-MTU tests: one TCP stream each way (the UDP datagrams
without DF: frag_peer.py client ... df-clear).

    pmtu_peer.py server ADDR PORT recv|send FILE
        accept one TCP connection, print "peer IP:PORT"; recv: write what
        it reads up to EOF to FILE; send: send FILE and close. Then print
        "done BYTES mss N" (N: the connection's TCP_MAXSEG)
    pmtu_peer.py client ADDR PORT send|recv FILE
        connect; send: send FILE, half-close, wait for the server to close;
        recv: write what it reads up to EOF to FILE. Then print
        "done BYTES mss N"
"""

import socket
import sys

TIMEOUT = 30
CHUNK = 1 << 16


def mss(sock):
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)


def transfer(sock, mode, path):
    """Send the file or receive into it; the bytes moved."""
    n = 0
    if mode == "send":
        with open(path, "rb") as f:
            while True:
                data = f.read(CHUNK)
                if not data:
                    break
                sock.sendall(data)
                n += len(data)
        return n
    with open(path, "wb") as f:
        while True:
            data = sock.recv(CHUNK)
            if not data:
                break
            f.write(data)
            n += len(data)
    return n


def server(addr, port, mode, path):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    conn, peer = ls.accept()
    conn.settimeout(TIMEOUT)
    print("peer %s:%d" % peer, flush=True)
    n = transfer(conn, mode, path)
    print("done %d mss %d" % (n, mss(conn)), flush=True)
    conn.close()
    return 0


def client(addr, port, mode, path):
    sock = socket.create_connection((addr, port), timeout=TIMEOUT)
    n = transfer(sock, mode, path)
    if mode == "send":
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(CHUNK):  # until the server has read everything and closed
            pass
    print("done %d mss %d" % (n, mss(sock)), flush=True)
    sock.close()
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 5 and a[0] in ("server", "client") and a[3] in ("send", "recv"):
        fn = server if a[0] == "server" else client
        return fn(a[1], int(a[2]), a[3], a[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
