#!/usr/bin/env python3
"""Host-side NMI source for vmtest guests.

Under TCG the guest has no PMU, so tests that need NMI context ask the host
for NMIs. The guest writes requests on its second serial port (/dev/ttyS1),
which QEMU connects to the unix socket --ctl; this daemon answers them and
injects NMIs through QEMU's QMP `inject-nmi` command on --qmp.

Protocol (one line each way):
  guest: NMI START <rate_hz> [<max_secs>]   host: OK
  guest: NMI STOP                            host: NMI COUNT <delivered since START>
  guest: PING                                host: PONG
A request may end with a tag "@<id>"; its reply then ends with the same tag,
so the guest can tell its answer from a late reply to an earlier request.
A malformed request gets "ERR <why>". Injection stops by itself <max_secs>
(default 300) after START, so a test killed before its STOP does not leave
NMIs running for the rest of the boot. The count is of inject-nmi commands
QEMU completed, not of requests sent.

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
        self.delivered = 0  # inject-nmi commands QEMU answered with success
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
                if "return" in msg:
                    self.delivered += 1

    def inject(self, n):
        for _ in range(n):
            while self.inflight >= self.WINDOW:
                self.drain(block=True)
            self.sock.sendall(b'{"execute":"inject-nmi"}\n')
            self.inflight += 1
            self.sent += 1
        self.drain(block=False)

    def settle(self):
        """Wait for every request in flight to be answered."""
        while self.inflight > 0:
            self.drain(block=True)


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
    start_sent = start_delivered = 0
    started = 0.0
    max_secs = 0.0

    def reply(text, tag):
        ctl.sendall((text + (" @" + tag if tag else "") + "\n").encode())

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
                tag = words.pop()[1:] if words and words[-1].startswith("@") else None
                if words[:2] == ["NMI", "START"] and len(words) in (3, 4) and \
                        all(w.isdigit() for w in words[2:]):
                    rate = max(1, min(int(words[2]), args.max_rate))
                    max_secs = int(words[3]) if len(words) == 4 else 300
                    qmp.settle()
                    start_sent, start_delivered = qmp.sent, qmp.delivered
                    started = time.monotonic()
                    print(f"nmi-injector: start at {rate}/s for at most {max_secs}s", file=log)
                    reply("OK", tag)
                elif words == ["NMI", "STOP"]:
                    qmp.settle()
                    n = qmp.delivered - start_delivered
                    secs = time.monotonic() - started if rate else 0
                    rate = 0
                    print(f"nmi-injector: stop: {n} NMIs delivered in {secs:.1f}s", file=log)
                    reply(f"NMI COUNT {n}", tag)
                elif words == ["PING"]:
                    reply("PONG", tag)
                elif words:
                    print(f"nmi-injector: malformed request {words}", file=log)
                    reply("ERR malformed request", tag)
        if rate and time.monotonic() - started > max_secs:
            print(f"nmi-injector: no STOP within {max_secs}s: stopping by itself", file=log)
            rate = 0
        if rate:
            # Catch up to where the requested rate says we should be.
            due = int((time.monotonic() - started) * rate) - (qmp.sent - start_sent)
            if due > 0:
                qmp.inject(min(due, qmp.WINDOW))


if __name__ == "__main__":
    try:
        main()
    except (EOFError, ConnectionError, BrokenPipeError):
        pass
