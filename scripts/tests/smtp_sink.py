#!/usr/bin/env python3
"""smtp_sink.py OUTDIR [--timeout S]: a real SMTP server (aiosmtpd) on
127.0.0.1 that keeps every message it receives, for test_send_email.py.

It listens on a port the kernel picks, prints that port on stdout (one
line) once it accepts connections, and writes message N as OUTDIR/NNN.eml
(the bytes received, after DATA) and OUTDIR/NNN.json (envelope: MAIL FROM,
RCPT TO), in arrival order. It stops on SIGTERM/SIGINT, or by itself after
--timeout seconds so a test that dies cannot leave it running.

Run it with an interpreter that has aiosmtpd (Debian: python3-aiosmtpd,
installed for /usr/bin/python3): the test finds one.
"""
import argparse
import asyncio
import json
import os
import signal
import socket

from aiosmtpd.smtp import SMTP


class Keep:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.outdir, "%03d" % self.n)
        # .json last: a reader that sees it knows the .eml is complete.
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".eml.tmp", base + ".eml")
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 OK"


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)

    # Bind first so the port is ours before anyone is told about it (no
    # pick-a-free-port-then-hope race). Loopback only.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    handler = Keep(args.outdir)
    loop = asyncio.get_running_loop()
    # 8BITMIME/SMTPUTF8 as a real MTA would offer them; git send-email
    # sends 8bit bodies.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.localhost", decode_data=False,
                     enable_SMTPUTF8=True),
        sock=sock)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(sock.getsockname()[1], flush=True)
    try:
        await asyncio.wait_for(stop.wait(), args.timeout)
    except asyncio.TimeoutError:
        pass
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
