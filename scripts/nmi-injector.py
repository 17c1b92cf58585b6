#!/usr/bin/env python3
"""Host-side NMI source for vmtest guests.

Under TCG the guest has no PMU, so tests that need NMI context ask the host
for NMIs. The guest writes requests on its second serial port (/dev/ttyS1),
which QEMU connects to the unix socket --ctl; this daemon answers them and
injects NMIs through QEMU's QMP `inject-nmi` command on --qmp.

Protocol (one line each way):
  guest: NMI START <rate_hz>   host: OK
  guest: NMI STOP              host: NMI COUNT <injected since START>
  guest: PING                  host: PONG

QMP commands are pipelined (a window of requests in flight) so the rate is
not bounded by one round trip per NMI.
"""
import argparse
import json
import os
import select
import socket
import sys
import time


def connect(path, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                sys.exit(f"nmi-injector: cannot connect to {path}")
            time.sleep(0.05)


class Qmp:
    WINDOW = 32  # inject-nmi requests in flight at most

    def __init__(self, path, timeout):
        self.sock = connect(path, timeout)
        self.buf = b""
        self.inflight = 0
        self.sent = 0
        self._read_msg()  # greeting
        self.sock.sendall(b'{"execute":"qmp_capabilities"}\n')
        while "return" not in self._read_msg():
            pass

    def _read_msg(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QMP closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def drain(self, block):
        """Consume finished replies; block until one arrives if asked."""
        if block or select.select([self.sock], [], [], 0)[0]:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QMP closed")
            self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if "return" in msg or "error" in msg:
                self.inflight -= 1

    def inject(self, n):
        for _ in range(n):
            while self.inflight >= self.WINDOW:
                self.drain(block=True)
            self.sock.sendall(b'{"execute":"inject-nmi"}\n')
            self.inflight += 1
            self.sent += 1
        self.drain(block=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qmp", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--max-rate", type=int, default=20000)
    ap.add_argument("--connect-timeout", type=float, default=30)
    ap.add_argument("--log")
    args = ap.parse_args()

    log = open(args.log, "a", buffering=1) if args.log else sys.stderr
    qmp = Qmp(args.qmp, args.connect_timeout)
    ctl = connect(args.ctl, args.connect_timeout)
    cbuf = b""
    rate = 0
    start_count = 0
    started = 0.0

    while True:
        timeout = 0.001 if rate else None
        try:
            ready = select.select([ctl], [], [], timeout)[0]
        except KeyboardInterrupt:
            return
        if ready:
            data = ctl.recv(4096)
            if not data:
                return  # QEMU went away
            cbuf += data
            while b"\n" in cbuf:
                line, cbuf = cbuf.split(b"\n", 1)
                words = line.decode(errors="replace").strip().split()
                if words[:2] == ["NMI", "START"] and len(words) == 3:
                    rate = max(1, min(int(words[2]), args.max_rate))
                    start_count = qmp.sent
                    started = time.monotonic()
                    print(f"nmi-injector: start at {rate}/s", file=log)
                    ctl.sendall(b"OK\n")
                elif words[:2] == ["NMI", "STOP"]:
                    n = qmp.sent - start_count
                    secs = time.monotonic() - started if rate else 0
                    rate = 0
                    print(f"nmi-injector: stop: {n} NMIs in {secs:.1f}s", file=log)
                    ctl.sendall(f"NMI COUNT {n}\n".encode())
                elif words == ["PING"]:
                    ctl.sendall(b"PONG\n")
                elif words:
                    print(f"nmi-injector: unknown request {words}", file=log)
        if rate:
            # Catch up to where the requested rate says we should be.
            due = int((time.monotonic() - started) * rate) - (qmp.sent - start_count)
            if due > 0:
                qmp.inject(min(due, qmp.WINDOW))


if __name__ == "__main__":
    try:
        main()
    except (EOFError, ConnectionError, BrokenPipeError):
        pass
