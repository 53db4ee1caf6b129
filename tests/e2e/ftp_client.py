#!/usr/bin/env python3
"""A scripted FTP client for the NAT's FTP tests (tests/e2e/test_ftp.sh).

One control connection to SERVER (anonymous login), then each step in turn:

  get MODE REMOTE LOCAL   RETR REMOTE into LOCAL
  put MODE LOCAL REMOTE   STOR LOCAL as REMOTE
  split-port              PORT for a listener of ours sent in two TCP
                          segments (TCP_NODELAY, a pause between them):
                          expects a 5xx reply on the same connection
  noop                    NOOP, expects 200
  sleep S                 nothing for S seconds

MODE is how the data connection is made: pasv, epsv (the client connects),
port, eprt (the server connects to the address and port the command gives).
Prints one line per step ("OK ..." with the replies and the data
connection's far end); the first failure prints "FAIL ..." and exits 1.
It contacts SERVER only.
"""
import argparse
import ftplib
import socket
import sys
import time


def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)


def cmd(ftp, line):
    """Send LINE, return the reply whatever its class."""
    try:
        return ftp.sendcmd(line)
    except ftplib.Error as e:
        return str(e)


def data_conn(ftp, mode, transfer):
    """The data connection for TRANSFER (e.g. "RETR f") made MODE's way,
    the transfer command's reply and the far end of the data connection."""
    listener = None
    if mode in ("pasv", "epsv"):
        if mode == "pasv":
            reply = cmd(ftp, "PASV")
            if not reply.startswith("227"):
                fail("PASV: %s" % reply)
            _, port = ftplib.parse227(reply)
        else:
            reply = cmd(ftp, "EPSV")
            if not reply.startswith("229"):
                fail("EPSV: %s" % reply)
            _, port = ftplib.parse229(reply, ftp.sock.getpeername())
        # The server's own address, as vsftpd expects (its reply names it too).
        conn = socket.create_connection((ftp.sock.getpeername()[0], port), timeout=ftp.timeout)
    elif mode in ("port", "eprt"):
        host = ftp.sock.getsockname()[0]
        listener = socket.create_server((host, 0), backlog=1)
        listener.settimeout(ftp.timeout)
        port = listener.getsockname()[1]
        if mode == "port":
            line = "PORT %s,%d,%d" % (host.replace(".", ","), port >> 8, port & 0xFF)
        else:
            line = "EPRT |1|%s|%d|" % (host, port)
        reply = cmd(ftp, line)
        if not reply.startswith("200"):
            fail("%s: %s" % (line, reply))
    else:
        fail("unknown mode %s" % mode)
    reply = cmd(ftp, transfer)
    if not reply.startswith("1"):
        fail("%s (%s): %s" % (transfer, mode, reply))
    if listener is not None:
        try:
            conn, _ = listener.accept()
        except OSError as e:
            fail("%s (%s): no data connection from the server: %s" % (transfer, mode, e))
        listener.close()
        conn.settimeout(ftp.timeout)
    peer = "%s:%d" % conn.getpeername()[:2]
    return conn, reply, peer


def get(ftp, mode, remote, local):
    conn, reply, peer = data_conn(ftp, mode, "RETR " + remote)
    n = 0
    with open(local, "wb") as f:
        while True:
            b = conn.recv(65536)
            if not b:
                break
            f.write(b)
            n += len(b)
    conn.close()
    end = ftp.getresp()
    print("OK get %s %s %d bytes, data from %s, %s | %s"
          % (mode, remote, n, peer, reply, end), flush=True)


def put(ftp, mode, local, remote):
    conn, reply, peer = data_conn(ftp, mode, "STOR " + remote)
    n = 0
    with open(local, "rb") as f:
        while True:
            b = f.read(65536)
            if not b:
                break
            conn.sendall(b)
            n += len(b)
    conn.close()
    end = ftp.getresp()
    print("OK put %s %s %d bytes, data to %s, %s | %s"
          % (mode, remote, n, peer, reply, end), flush=True)


def split_port(ftp):
    """PORT in two segments: the verb and part of the address, then the rest."""
    host = ftp.sock.getsockname()[0]
    listener = socket.create_server((host, 0), backlog=1)
    port = listener.getsockname()[1]
    line = ("PORT %s,%d,%d\r\n" % (host.replace(".", ","), port >> 8, port & 0xFF)).encode()
    cut = len("PORT ") + 4
    ftp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ftp.sock.sendall(line[:cut])
    time.sleep(0.3)
    ftp.sock.sendall(line[cut:])
    try:
        reply = ftp.getresp()
    except ftplib.Error as e:
        reply = str(e)
    listener.close()
    if not reply.startswith("5"):
        fail("a PORT split across segments got %r, expected a 5xx refusal" % reply)
    print("OK split-port %r in 2 segments: %s" % (line, reply), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--port", type=int, default=21)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("steps", nargs="*")
    a = ap.parse_args()
    ftp = ftplib.FTP(timeout=a.timeout)
    try:
        welcome = ftp.connect(a.server, a.port)
        ftp.login()
    except (OSError, ftplib.Error) as e:
        fail("login to %s:%d: %s" % (a.server, a.port, e))
    print("OK login %s, control %s:%d -> %s:%d"
          % (welcome.splitlines()[0], *ftp.sock.getsockname()[:2], *ftp.sock.getpeername()[:2]),
          flush=True)
    ftp.voidcmd("TYPE I")
    steps = list(a.steps)
    try:
        while steps:
            op = steps.pop(0)
            if op == "get":
                get(ftp, steps.pop(0), steps.pop(0), steps.pop(0))
            elif op == "put":
                put(ftp, steps.pop(0), steps.pop(0), steps.pop(0))
            elif op == "split-port":
                split_port(ftp)
            elif op == "sleep":
                time.sleep(float(steps.pop(0)))
                print("OK slept", flush=True)
            elif op == "noop":
                reply = cmd(ftp, "NOOP")
                if not reply.startswith("200"):
                    fail("NOOP: %s" % reply)
                print("OK noop: %s" % reply, flush=True)
            else:
                fail("unknown step %s" % op)
    except (OSError, EOFError, ftplib.Error) as e:
        fail("%s: %s" % (op, e))
    except IndexError:
        fail("%s: missing arguments" % op)
    try:
        ftp.quit()
    except (OSError, EOFError, ftplib.Error):
        pass
    print("OK done", flush=True)


if __name__ == "__main__":
    main()
