#!/usr/bin/env python3
"""UDP listener for the end-to-end tests: append every datagram's bytes to a
file, log its source, and answer with b"echo:" + the datagram.

    udp_echo.py ADDR PORT OUTFILE [LIFETIME_S]
"""

import socket
import sys
import time


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, port))
    deadline = time.monotonic() + lifetime
    with open(out, "ab", buffering=0) as f:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return 0
            sock.settimeout(left)
            try:
                data, peer = sock.recvfrom(65535)
            except socket.timeout:
                return 0
            f.write(data)
            print("from %s:%d %d bytes" % (peer[0], peer[1], len(data)), flush=True)
            sock.sendto(b"echo:" + data, peer)


if __name__ == "__main__":
    sys.exit(main())
