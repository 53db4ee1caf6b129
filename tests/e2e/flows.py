#!/usr/bin/env python3
"""Many concurrent TCP connections and UDP flows, for the NAT end-to-end tests.

server: listens on TCP and UDP, records the peer address of every connection
        and datagram it sees, answers each with that address, and writes a
        JSON report when told to stop (SIGTERM) or after --duration.
client: opens --tcp connections (all held open at once) and sends --udp flows
        (one socket each), checks every answer, prints a JSON report.

Everything is bounded in time; only the addresses given are contacted.
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import time


class Server:
    def __init__(self):
        self.tcp_peers = []          # every accepted connection's peer
        self.live = set()            # peers with an open connection
        self.tcp_max_live = 0
        self.tcp_reuse_while_live = 0
        self.udp_peers = set()
        self.udp_datagrams = 0

    async def on_tcp(self, reader, writer):
        peer = writer.get_extra_info("peername")[:2]
        if peer in self.live:
            self.tcp_reuse_while_live += 1
        self.live.add(peer)
        self.tcp_peers.append(peer)
        self.tcp_max_live = max(self.tcp_max_live, len(self.live))
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                writer.write(f"{peer[0]}:{peer[1]} {line.decode().strip()}\n".encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.live.discard(peer)
            writer.close()

    def report(self):
        return {
            "tcp_connections": len(self.tcp_peers),
            "tcp_peers": sorted(set(self.tcp_peers)),
            "tcp_max_live": self.tcp_max_live,
            "tcp_reuse_while_live": self.tcp_reuse_while_live,
            "udp_datagrams": self.udp_datagrams,
            "udp_peers": sorted(self.udp_peers),
        }


class UdpEcho(asyncio.DatagramProtocol):
    def __init__(self, server):
        self.server = server

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.server.udp_datagrams += 1
        self.server.udp_peers.add(addr[:2])
        self.transport.sendto(f"{addr[0]}:{addr[1]} ".encode() + data, addr)


async def serve(args):
    srv = Server()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    tcp = await asyncio.start_server(srv.on_tcp, args.bind, args.port, backlog=4096)
    udp, _ = await loop.create_datagram_endpoint(lambda: UdpEcho(srv),
                                                 local_addr=(args.bind, args.port))
    # Thousands of flows arrive in bursts: a deep receive queue keeps the
    # kernel from dropping them before this loop reads them (root may force it).
    sock = udp.get_extra_info("socket")
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
            break
        except (OSError, TypeError):
            continue
    with open(args.ready, "w") as f:
        f.write("ready\n")
    try:
        await asyncio.wait_for(stop.wait(), args.duration)
    except asyncio.TimeoutError:
        pass
    tcp.close()
    udp.close()
    with open(args.report, "w") as f:
        json.dump(srv.report(), f)


async def tcp_flows(args):
    """Open every connection, hold them all, then check the answers."""
    sem = asyncio.Semaphore(256)  # connect in waves, all stay open
    conns, errors = [], 0

    async def one(i):
        nonlocal errors
        async with sem:
            try:
                r, w = await asyncio.wait_for(
                    asyncio.open_connection(args.server, args.port,
                                            local_addr=(args.source, 0)), args.timeout)
                conns.append((i, r, w))
            except (OSError, asyncio.TimeoutError):
                errors += 1

    await asyncio.gather(*(one(i) for i in range(args.tcp)))
    held = len(conns)

    async def ask(i, r, w):
        try:
            w.write(f"hello {i}\n".encode())
            await w.drain()
            line = await asyncio.wait_for(r.readline(), args.timeout)
            addr, word, tag = line.decode().split()
            return addr if (word, tag) == ("hello", str(i)) else None
        except (OSError, ValueError, asyncio.TimeoutError):
            return None

    # Every connection is open at this point; each one proves itself with a round trip.
    answers = await asyncio.gather(*(ask(i, r, w) for i, r, w in conns))
    seen = [a for a in answers if a is not None]
    if args.held:
        # Tell whoever coordinates several clients that ours are all open and
        # answered, and keep them open until it says so (bounded).
        with open(args.held, "w") as f:
            f.write(f"{held}\n")
    if args.release:
        deadline = time.monotonic() + args.hold_max
        while not os.path.exists(args.release) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    for _, _, w in conns:
        w.close()
    return {"tcp_ok": len(seen), "tcp_failed": errors + held - len(seen),
            "tcp_held_at_once": held, "tcp_seen_as": seen}


def udp_flows(args):
    """One socket per flow; sent in waves, each flow retried until answered (3 tries)."""
    socks = []
    for _ in range(args.udp):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((args.source, 0))
        s.setblocking(False)
        socks.append(s)
    seen, failed = {}, 0
    pending = set(range(args.udp))
    for attempt in range(3):
        todo = sorted(pending)
        for start in range(0, len(todo), 100):
            for i in todo[start:start + 100]:
                socks[i].sendto(f"flow {i}".encode(), (args.server, args.port))
            time.sleep(0.02)  # a wave at a time: no flood of the test bed's rings
        deadline = time.monotonic() + args.timeout / 3
        while pending and time.monotonic() < deadline:
            for i in list(pending):
                try:
                    data = socks[i].recv(2048)
                except BlockingIOError:
                    continue
                addr, tag = data.decode().split(" ", 1)
                if tag != f"flow {i}":
                    failed += 1
                seen[i] = addr
                pending.discard(i)
            time.sleep(0.01)
        if not pending:
            break
    failed += len(pending)
    for s in socks:
        s.close()
    return {"udp_ok": len(seen), "udp_failed": failed, "udp_retried": attempt,
            "udp_seen_as": list(seen.values())}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("--bind", required=True)
    s.add_argument("--port", type=int, default=7000)
    s.add_argument("--duration", type=float, default=120)
    s.add_argument("--ready", required=True, help="file written once listening")
    s.add_argument("--report", required=True)
    c = sub.add_parser("client")
    c.add_argument("--server", required=True)
    c.add_argument("--source", required=True, help="local address to send from")
    c.add_argument("--port", type=int, default=7000)
    c.add_argument("--tcp", type=int, default=0)
    c.add_argument("--udp", type=int, default=0)
    c.add_argument("--timeout", type=float, default=20)
    c.add_argument("--held", help="file written once every TCP connection is open and answered")
    c.add_argument("--release", help="hold the TCP connections open until this file exists")
    c.add_argument("--hold-max", type=float, default=30,
                   help="longest wait for --release, seconds")
    args = p.parse_args()
    if args.mode == "server":
        asyncio.run(serve(args))
        return 0
    out = {}
    if args.tcp:
        out.update(asyncio.run(tcp_flows(args)))
    if args.udp:
        out.update(udp_flows(args))
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
