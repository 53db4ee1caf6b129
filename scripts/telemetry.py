#!/usr/bin/env python3
"""Query a DPDK telemetry v2 endpoint of Ephemera (or any DPDK process).

    telemetry.py [--prefix ephemera] /ephemera/stats
    telemetry.py /ethdev/stats 0              # parameters follow the command
    telemetry.py --get drops.no_route /ephemera/drops   # one value, for tests
    telemetry.py --list                        # every registered command

Prints the reply's value as JSON (or the single value for --get). Exits 1 when
the socket is missing, the command is unknown or the key path is absent.
"""

import argparse
import json
import os
import socket
import sys

RUNTIME_DIR = "/var/run/dpdk"
SOCKET_NAME = "dpdk_telemetry.v2"


def socket_path(prefix):
    return os.path.join(RUNTIME_DIR, prefix, SOCKET_NAME)


def query(path, command, timeout=5.0):
    """Send one command, return the decoded reply object ({command: value})."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        # The greeting says how large a reply may be.
        greeting = json.loads(sock.recv(4096).decode())
        bufsize = int(greeting.get("max_output_len", 16384)) + 1024
        sock.send(command.encode())
        reply = sock.recv(bufsize)
    finally:
        sock.close()
    if not reply:
        raise RuntimeError("telemetry closed the connection on %r" % command)
    return json.loads(reply.decode())


def lookup(value, key_path):
    """Follow a dotted key path; integer parts index lists."""
    for part in key_path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            value = value[int(part)]
        else:
            raise KeyError(part)
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prefix", default=os.environ.get("EPH_PREFIX", "ephemera"),
                    help="EAL file-prefix of the process (default ephemera)")
    ap.add_argument("--socket", help="telemetry socket path (overrides --prefix)")
    ap.add_argument("--get", metavar="KEY.PATH",
                    help="print only this value of the reply (dotted path)")
    ap.add_argument("--raw", action="store_true",
                    help="print the reply as received: {command: value}")
    ap.add_argument("--list", action="store_true", help="list the commands")
    ap.add_argument("command", nargs="?", help="e.g. /ephemera/stats")
    ap.add_argument("params", nargs="*", help="parameters, joined with ','")
    args = ap.parse_args()

    if args.list:
        command = "/"
    elif args.command:
        command = args.command
    else:
        ap.error("a command is required")
    if args.params:
        command += "," + ",".join(args.params)
    path = args.socket or socket_path(args.prefix)

    try:
        reply = query(path, command)
    except (OSError, ValueError, RuntimeError) as err:
        print("telemetry: %s: %s" % (path, err), file=sys.stderr)
        return 1

    key = command.split(",", 1)[0]
    if args.raw:
        value = reply
    elif isinstance(reply, dict) and key in reply:
        value = reply[key]
    else:
        value = reply
    # DPDK answers an unknown command with a null value.
    if value is None:
        print("telemetry: %s: unknown command or no data" % command, file=sys.stderr)
        return 1

    if args.get:
        try:
            value = lookup(value, args.get)
        except (KeyError, IndexError):
            print("telemetry: %s: no key %r" % (command, args.get), file=sys.stderr)
            return 1
        if not isinstance(value, (dict, list)):
            print(value)
            return 0
    print(json.dumps(value, indent=2, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
