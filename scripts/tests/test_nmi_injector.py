"""Unit tests for scripts/nmi-injector.py against a fake QEMU (QMP and the
guest's control port as unix sockets): replies are tagged, a malformed
request is answered instead of killing the injector, the count is of NMIs
QEMU delivered, and injection stops by itself without a STOP."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nmi-injector.py")


class FakeQmp(threading.Thread):
    """Answers every command; fails every third inject-nmi when asked to."""

    def __init__(self, path, fail_some=False):
        super().__init__(daemon=True)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(1)
        self.fail_some = fail_some
        self.injected = 0
        self.ok = 0
        self.start()

    def run(self):
        conn, _ = self.srv.accept()
        conn.sendall(b'{"QMP": {}}\n')
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                cmd = json.loads(line)["execute"]
                if cmd == "inject-nmi":
                    self.injected += 1
                    if self.fail_some and self.injected % 3 == 0:
                        conn.sendall(b'{"error": {"class": "GenericError"}}\n')
                        continue
                    self.ok += 1
                conn.sendall(b'{"return": {}}\n')


class Injector(unittest.TestCase):
    def setUp(self, fail_some=False):
        self.tmp = tempfile.TemporaryDirectory()
        self.qmp = FakeQmp(os.path.join(self.tmp.name, "qmp"), fail_some)
        ctl_path = os.path.join(self.tmp.name, "ctl")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(ctl_path)
        srv.listen(1)
        self.proc = subprocess.Popen([sys.executable, SCRIPT, "--qmp", self.qmp.srv.getsockname(),
                                      "--ctl", ctl_path, "--log", os.path.join(self.tmp.name, "log")])
        self.ctl, _ = srv.accept()
        self.ctl.settimeout(10)
        self.rbuf = b""

    def tearDown(self):
        self.proc.kill()
        self.proc.wait()
        self.tmp.cleanup()

    def request(self, line):
        self.ctl.sendall(line.encode() + b"\n")
        while b"\n" not in self.rbuf:
            self.rbuf += self.ctl.recv(4096)
        reply, self.rbuf = self.rbuf.split(b"\n", 1)
        return reply.decode()

    def test_tags_and_malformed_requests(self):
        self.assertEqual(self.request("PING @7"), "PONG @7")
        self.assertEqual(self.request("NMI START lots @8"), "ERR malformed request @8")
        self.assertEqual(self.request("NMI START"), "ERR malformed request")
        self.assertEqual(self.request("PING"), "PONG")  # still alive

    def test_count_is_what_qemu_delivered(self):
        self.assertEqual(self.request("NMI START 2000 @1"), "OK @1")
        time.sleep(0.5)
        reply = self.request("NMI STOP @2")
        n = int(reply.split()[2])
        self.assertGreater(n, 0)
        self.assertEqual(n, self.qmp.ok)

    def test_stops_by_itself(self):
        self.assertEqual(self.request("NMI START 1000 1"), "OK")
        time.sleep(1.5)
        before = self.qmp.injected
        time.sleep(0.5)
        self.assertEqual(self.qmp.injected, before, "still injecting after max_secs")


class InjectorWithFailures(Injector):
    def setUp(self):
        super().setUp(fail_some=True)

    def test_failed_injections_not_counted(self):
        self.assertEqual(self.request("NMI START 2000"), "OK")
        time.sleep(0.5)
        n = int(self.request("NMI STOP").split()[2])
        self.assertEqual(n, self.qmp.ok)
        self.assertLess(n, self.qmp.injected)


if __name__ == "__main__":
    unittest.main()
