#!/usr/bin/env python3
"""Backends and clients for the balancer's end-to-end tests.

serve NAME ADDR REPORT     a backend: TCP echo on ports 9000 and 9001 (each line
                           answered "NAME line"), UDP echo on port 7 (answered
                           NAME); on SIGTERM writes REPORT (JSON): every peer,
                           connections at once, ends by reset or by close.
http URL N CONC            N short HTTP GETs, CONC at a time: JSON counts of the
                           bodies (the backend's name) and of failures.
hold ADDR PORT N SECONDS REPORT
                           N long-lived TCP connections, each sending a line
                           every 100 ms for SECONDS: per connection the backend
                           that answered, whether it changed, whether and when
                           it broke, the longest wait for an answer (max_wait,
                           s). Writes REPORT (JSON) at the end.
udp ADDR PORT FLOWS        FLOWS UDP flows (a socket each), 3 datagrams per flow:
                           whether each flow kept its backend, counts per backend.

Only the addresses given are contacted; everything is bounded in time.
"""
import asyncio
import json
import signal
import socket
import sys
import time
import urllib.request


def serve(name, addr, report):
    stats = {"name": name, "tcp_peers": [], "live": 0, "max_live": 0,
             "reset": 0, "closed": 0, "udp_peers": []}
    live = set()

    async def on_tcp(reader, writer):
        peer = writer.get_extra_info("peername")[:2]
        live.add(peer)
        stats["tcp_peers"].append(list(peer))
        stats["max_live"] = max(stats["max_live"], len(live))
        try:
            while True:
                line = await reader.readline()
                if not line:
                    stats["closed"] += 1
                    break
                writer.write(name.encode() + b" " + line)
                await writer.drain()
        except ConnectionResetError:
            stats["reset"] += 1
        finally:
            live.discard(peer)
            writer.close()

    class Udp(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.t = transport

        def datagram_received(self, data, peer):
            stats["udp_peers"].append(list(peer[:2]))
            self.t.sendto(name.encode(), peer)

    async def main():
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
        servers = [await asyncio.start_server(on_tcp, addr, p, backlog=1024)
                   for p in (9000, 9001)]
        await loop.create_datagram_endpoint(Udp, local_addr=(addr, 7))
        await stop
        stats["live"] = len(live)
        for s in servers:
            s.close()
        with open(report, "w") as f:
            json.dump(stats, f)

    asyncio.run(main())


def http(url, n, conc):
    counts, fails = {}, []

    async def one(i):
        def get():
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read().decode().strip()
        try:
            body = await asyncio.get_running_loop().run_in_executor(None, get)
            counts[body] = counts.get(body, 0) + 1
        except Exception as e:  # noqa: BLE001 - every failure is reported
            fails.append("%d: %s" % (i, e))

    async def main():
        sem = asyncio.Semaphore(conc)

        async def guarded(i):
            async with sem:
                await one(i)
        await asyncio.gather(*(guarded(i) for i in range(n)))

    import concurrent.futures
    loop = asyncio.new_event_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(conc))
    loop.run_until_complete(main())
    print(json.dumps({"counts": counts, "failures": len(fails), "first_failures": fails[:5]}))


def hold(addr, port, n, seconds, report):
    conns = []

    async def one(i):
        c = {"backend": None, "changed": False, "broken": None, "lines": 0,
             "max_wait": 0.0}
        conns.append(c)
        t0 = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(addr, port), 5)
        except Exception as e:  # noqa: BLE001
            c["broken"] = "connect: %s: %s" % (type(e).__name__, e)
            return
        try:
            while time.monotonic() - t0 < seconds:
                writer.write(b"%d\n" % i)
                sent = time.monotonic()
                line = await asyncio.wait_for(reader.readline(), 5)
                c["max_wait"] = max(c["max_wait"], time.monotonic() - sent)
                if not line:
                    c["broken"] = "closed at %.1f s" % (time.monotonic() - t0)
                    return
                who = line.split()[0].decode()
                if c["backend"] is None:
                    c["backend"] = who
                elif who != c["backend"]:
                    c["changed"] = True
                c["lines"] += 1
                await asyncio.sleep(0.1)
            writer.close()
        except Exception as e:  # noqa: BLE001
            c["broken"] = "%s at %.1f s" % (type(e).__name__, time.monotonic() - t0)

    async def main():
        tasks = []
        for i in range(n):
            tasks.append(asyncio.create_task(one(i)))
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    with open(report, "w") as f:
        json.dump(conns, f)


def udp(addr, port, flows):
    per_backend, moved, lost = {}, 0, 0
    socks = []
    for _ in range(flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        s.connect((addr, port))
        socks.append(s)
    seen = [None] * flows
    for rnd in range(3):
        for i, s in enumerate(socks):
            try:
                s.send(b"flow %d round %d" % (i, rnd))
                who = s.recv(100).decode()
            except OSError:
                lost += 1
                continue
            if seen[i] is None:
                seen[i] = who
                per_backend[who] = per_backend.get(who, 0) + 1
            elif seen[i] != who:
                moved += 1
    for s in socks:
        s.close()
    print(json.dumps({"per_backend": per_backend, "moved": moved, "lost": lost}))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve(args[0], args[1], args[2])
    elif cmd == "http":
        http(args[0], int(args[1]), int(args[2]))
    elif cmd == "hold":
        hold(args[0], int(args[1]), int(args[2]), float(args[3]), args[4])
    elif cmd == "udp":
        udp(args[0], int(args[1]), int(args[2]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
