"""Network egress through the real server, with real sandboxes.

The test makes its own test host: a network namespace with a veth pair to the host
(10.213.X.1 on the host, 10.213.X.2 inside) running a tiny HTTP, DNS and UDP echo server. An
egress function reaches it (by address and by name), and nothing else it should not: the host's
loopback, the host's own addresses (its interfaces, the host end of the sandbox's veth, the
host end of the test host's veth) and another egress sandbox; the test host cannot open a
connection into a sandbox; a function without egress reaches nothing. The server's host state
(its nftables table, ip_forward) is gone after it stops, and a killed server's is removed at
the next start.

All traffic stays on this machine: loopback, the sandboxes, and the namespace made here. The
sandboxes resolve names through the test host (--egress-dns), never the host's resolvers.
Needs root and iproute2/nftables (tools/install-deps.sh); skips otherwise.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gustserver import GustServer, SOURCE_DIR

IS_ROOT = os.geteuid() == 0
HAVE_TOOLS = shutil.which("ip") is not None and shutil.which("nft") is not None
PROBE = os.path.join(SOURCE_DIR, "tests", "e2e", "functions", "egress", "probe.py")

# The test host's servers, run inside its namespace. Prints "ready" once every socket is bound.
TEST_HOST_SERVER = r'''
import socket, struct, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
address, name = sys.argv[1], sys.argv[2]

class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from the test host"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

def dns():
    # A minimal A-record responder: `name` is `address`, every other name does not exist.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((address, 53))
    ready.release()
    while True:
        query, peer = s.recvfrom(512)
        if len(query) < 12:
            continue
        labels, i = [], 12
        while i < len(query) and query[i] != 0:
            labels.append(query[i + 1:i + 1 + query[i]].decode(errors="replace"))
            i += 1 + query[i]
        question = query[12:i + 5]
        qtype = struct.unpack("!H", query[i + 1:i + 3])[0] if i + 3 <= len(query) else 0
        found = ".".join(labels).lower() == name and qtype == 1
        header = query[:2] + struct.pack("!HHHHH", 0x8180 if found else 0x8183, 1,
                                         1 if found else 0, 0, 0)
        answer = (struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(address)
                  if found else b"")
        s.sendto(header + question + answer, peer)

def echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((address, 7))
    ready.release()
    while True:
        data, peer = s.recvfrom(512)
        s.sendto(b"echo " + data, peer)

ready = threading.Semaphore(0)
http = ThreadingHTTPServer((address, 8080), Hello)
threading.Thread(target=dns, daemon=True).start()
threading.Thread(target=echo, daemon=True).start()
ready.acquire(); ready.acquire()
print("ready", flush=True)
http.serve_forever()
'''


def run(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=30)


class TestHost:
    """A network namespace with a veth pair to the host and the servers above, made and removed
    by the test."""

    NAME = "testhost.gust.test"

    def __init__(self):
        n = os.getpid() % 250 + 1
        self.netns = f"gust-e2e-egress-{os.getpid()}"
        self.veth = f"gte{os.getpid()}"[:15]
        self.host_address = f"10.213.{n}.1"
        self.address = f"10.213.{n}.2"
        self.server = None

    def start(self):
        try:
            run("ip", "netns", "add", self.netns)
            run("ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns",
                self.netns)
            run("ip", "addr", "add", self.host_address + "/30", "dev", self.veth)
            run("ip", "link", "set", self.veth, "up")
            run("ip", "-n", self.netns, "addr", "add", self.address + "/30", "dev", "eth0")
            run("ip", "-n", self.netns, "link", "set", "eth0", "up")
            run("ip", "-n", self.netns, "link", "set", "lo", "up")
            # Lets the test host try to reach into the sandboxes (through the host), which the
            # host must refuse.
            run("ip", "-n", self.netns, "route", "add", "10.200.0.0/16", "via", self.host_address)
            self.server = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, "/usr/bin/python3", "-c", TEST_HOST_SERVER,
                 self.address, self.NAME],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = self.server.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError("the test host's servers did not start: " +
                                   self.server.stderr.read())
            return self
        except BaseException:
            self.stop()
            raise

    def connect_from_inside(self, host, port):
        code = ("import socket, errno, sys\n"
                "s = socket.socket(); s.settimeout(2)\n"
                "try:\n  s.connect((sys.argv[1], int(sys.argv[2]))); print('connected')\n"
                "except socket.timeout:\n  print('timeout')\n"
                "except OSError as e:\n  print(errno.errorcode[e.errno])\n")
        r = run("ip", "netns", "exec", self.netns, "/usr/bin/python3", "-c", code, host,
                str(port))
        return r.stdout.strip()

    def stop(self):
        if self.server is not None and self.server.poll() is None:
            self.server.kill()
            self.server.wait(timeout=10)
        if self.server is not None:
            self.server.stdout.close()
            self.server.stderr.close()
        # Deleting the namespace deletes eth0 and with it the host's end of the pair.
        run("ip", "netns", "del", self.netns, check=False)
        run("ip", "link", "del", self.veth, check=False)


class HostServer:
    """An HTTP server of the host (this test process) on `address`, any port."""

    def __init__(self, address):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"host")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((address, 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def host_ipv4_addresses():
    """The host's IPv4 addresses but those of sandbox veths (which come and go with the sandboxes
    of servers other tests run meanwhile; the test names its own sandbox's gateway itself)."""
    out = run("ip", "-4", "-o", "addr", "show").stdout
    found = re.finditer(r"^\d+: (\S+)\s+inet (\d+\.\d+\.\d+\.\d+)/", out, re.M)
    return sorted({m.group(2) for m in found if not m.group(1).startswith("gst")})


def connect(host, port, timeout=2):
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        return "connected"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return type(e).__name__
    finally:
        s.close()


def make_function(root, name, network):
    d = os.path.join(root, name)
    os.makedirs(d)
    shutil.copy(PROBE, d)
    with open(os.path.join(d, "gust.yaml"), "w") as f:
        f.write(f"name: {name}\nruntime: python3.11\nhandler: probe.handler\nmemory: 128\n"
                f"timeout: 30\nnetwork: {network}\n")
    return d


def egress_table(server):
    m = re.search(r"nftables table inet (gust_\w+)", server.server_log())
    return m.group(1) if m else None


def nft_tables():
    return run("nft", "list", "tables").stdout


@unittest.skipUnless(IS_ROOT, "the namespace sandbox and egress need root")
@unittest.skipUnless(HAVE_TOOLS, "needs ip (iproute2) and nft (nftables): tools/install-deps.sh")
class EgressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cleanups = []
        try:
            cls.test_host = TestHost().start()
            cls.cleanups.append(cls.test_host.stop)
            cls.loopback = HostServer("127.0.0.1")
            cls.cleanups.append(cls.loopback.stop)
            cls.everywhere = HostServer("0.0.0.0")  # every address of the host
            cls.cleanups.append(cls.everywhere.stop)
            cls.server = GustServer().start(extra_args=["--egress-dns", cls.test_host.address])
            cls.cleanups.append(cls.server.cleanup)
            cls.functions = tempfile.mkdtemp(prefix="gust-e2e-egress-fn-")
            cls.cleanups.append(lambda: shutil.rmtree(cls.functions, ignore_errors=True))
            for name, network in (("egress-a", "egress"), ("egress-b", "egress"),
                                  ("egress-none", "none")):
                r = cls.server.cli("deploy", make_function(cls.functions, name, network))
                if r.returncode != 0:
                    raise RuntimeError(f"deploy {name}: {r.stderr}")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for cleanup in reversed(cls.cleanups):
            try:
                cleanup()
            except Exception as e:  # keep cleaning up; the namespace must go
                print(f"cleanup failed: {e!r}")
        cls.cleanups = []

    def invoke(self, function, **event):
        status, _, body = self.server.raw("POST", f"/api/v1/functions/{function}/invoke",
                                          body=json.dumps(event).encode())
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_egress_function_reaches_the_test_host(self):
        info = self.invoke("egress-a", op="info")
        self.assertEqual(info["interfaces"], ["eth0", "lo"])
        self.assertTrue(info["address"].startswith("10.200."), info)
        self.assertIn(f"nameserver {self.test_host.address}\n", info["resolv_conf"])
        r = self.invoke("egress-a", op="fetch", url=f"http://{self.test_host.address}:8080/")
        self.assertEqual(r, {"status": 200, "body": "hello from the test host"})

    def test_dns_udp_and_icmp_reach_the_test_host(self):
        self.assertEqual(self.invoke("egress-a", op="resolve", name=TestHost.NAME),
                         {"address": self.test_host.address})
        r = self.invoke("egress-a", op="fetch", url=f"http://{TestHost.NAME}:8080/")
        self.assertEqual(r.get("body"), "hello from the test host", r)
        r = self.invoke("egress-a", op="udp", host=self.test_host.address, port=7, data="hi")
        self.assertEqual(r, {"reply": "echo hi"})
        r = self.invoke("egress-a", op="ping", host=self.test_host.address)
        self.assertEqual(r, {"reply_type": 0})  # an ICMP echo reply

    def test_the_hosts_own_addresses_are_unreachable(self):
        info = self.invoke("egress-a", op="info")
        port = self.everywhere.port
        # The servers are up: the host reaches them on each of its addresses.
        for address in host_ipv4_addresses():
            self.assertEqual(connect(address, port), "connected", address)
        self.assertEqual(connect("127.0.0.1", self.loopback.port), "connected")
        targets = [["127.0.0.1", self.loopback.port], ["127.0.0.1", port],
                   [info["gateway"], port], [self.test_host.host_address, port]]
        targets += [[a, port] for a in host_ipv4_addresses()]
        targets.append([self.test_host.address, 8080])  # the control: beyond the host
        r = self.invoke("egress-a", op="connect", targets=targets)
        self.assertEqual(r.pop(f"{self.test_host.address}:8080"), "connected")
        for target, outcome in r.items():
            self.assertNotEqual(outcome, "connected", f"{target} is reachable from a sandbox")
        # The host end of the sandbox's veth and the host's interfaces are refused at once.
        self.assertEqual(r[f"{info['gateway']}:{port}"], "EHOSTUNREACH")
        self.assertEqual(r[f"{self.test_host.host_address}:{port}"], "EHOSTUNREACH")

    def test_other_sandboxes_are_unreachable(self):
        b = self.invoke("egress-b", op="listen", port=8080)
        self.assertEqual(b["self"], "connected", b)  # B's listener is up
        a = self.invoke("egress-a", op="info")
        self.assertNotEqual(a["address"], b["address"])
        r = self.invoke("egress-a", op="connect", targets=[[b["address"], 8080]])
        self.assertEqual(r, {f"{b['address']}:8080": "EHOSTUNREACH"})
        # Nor from outside into a sandbox: neither the test host nor the host itself.
        self.assertEqual(self.test_host.connect_from_inside(b["address"], 8080), "timeout")
        self.assertEqual(connect(b["address"], 8080), "timeout")

    def test_a_function_without_egress_reaches_nothing(self):
        info = self.invoke("egress-none", op="info")
        self.assertEqual(info["interfaces"], ["lo"])
        self.assertEqual(info["resolv_conf"], "")
        r = self.invoke("egress-none", op="connect", targets=[[self.test_host.address, 8080]])
        self.assertEqual(r, {f"{self.test_host.address}:8080": "ENETUNREACH"})
        r = self.invoke("egress-none", op="fetch", url=f"http://{self.test_host.address}:8080/")
        self.assertIn("error", r)


@unittest.skipUnless(IS_ROOT, "the namespace sandbox and egress need root")
@unittest.skipUnless(HAVE_TOOLS, "needs ip (iproute2) and nft (nftables): tools/install-deps.sh")
class EgressHostStateTest(unittest.TestCase):
    def test_stop_and_kill_leave_no_host_state_behind(self):
        # A range of its own, so servers of other tests never take its block meanwhile.
        args = ["--egress-dns", "198.51.100.53",
                "--egress-subnet", f"10.201.{os.getpid() % 16 * 16}.0/20"]
        server = GustServer().start(extra_args=args)
        functions = tempfile.mkdtemp(prefix="gust-e2e-egress-fn-")
        try:
            table = egress_table(server)
            self.assertIsNotNone(table, server.server_log())
            self.assertIn(f"table inet {table}\n", nft_tables())
            r = server.cli("deploy", make_function(functions, "egress-state", "egress"))
            self.assertEqual(r.returncode, 0, r.stderr)
            status, _, body = server.raw("POST", "/api/v1/functions/egress-state/invoke",
                                         body=b'{"op": "info"}')
            self.assertEqual(status, 200, body)
            gateway = json.loads(body)["gateway"]  # the host end of the sandbox's veth
            self.assertIn(f"inet {gateway}/31", run("ip", "-4", "-o", "addr").stdout)

            # kill -9: the table stays (nothing ran to remove it); the veths die with the
            # sandboxes' namespaces.
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait(timeout=30)
            server.proc.stdout.close()
            server.log.close()
            server.proc = None
            self.assertIn(f"table inet {table}\n", nft_tables())
            deadline = time.monotonic() + 20
            while (f"inet {gateway}/31" in run("ip", "-4", "-o", "addr").stdout
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            self.assertNotIn(f"inet {gateway}/31", run("ip", "-4", "-o", "addr").stdout)

            # The next start removes the table and installs its own; a clean stop removes that
            # and the veths of its pool.
            server.start(extra_args=args)
            self.assertIn("removed the nftables tables of stopped servers", server.server_log())
            self.assertIn(f"table inet {table}\n", nft_tables())
            # Its pool prepares the first slots of the block again, the killed sandbox's among
            # them, in the background.
            deadline = time.monotonic() + 20
            while (f"inet {gateway}/31" not in run("ip", "-4", "-o", "addr").stdout
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            self.assertIn(f"inet {gateway}/31", run("ip", "-4", "-o", "addr").stdout)
            self.assertEqual(server.stop(), 0)
            self.assertNotIn(f"table inet {table}\n", nft_tables())
            self.assertNotIn(f"inet {gateway}/31", run("ip", "-4", "-o", "addr").stdout)
        finally:
            server.cleanup()
            shutil.rmtree(functions, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
