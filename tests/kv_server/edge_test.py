#!/usr/bin/env python3
"""The key-value server's edge under hostile and careless clients, over real sockets: three kv_server processes on
loopback, and single servers with small limits. Every defect class has a test: bytes that are not UTF-8 in keys on
every method, non-string fields, percent-encoded keys, oversized parts, malformed requests, slow clients holding
connections (others are still served; threads and memory stay bounded), pipelining, a follower's redirect, bad
command lines (refused before anything is written), a node whose disk fills (it stops, says why, and exits), and
leadership handed over on request and by a stopping leader (a rolling restart under load).

    edge_test.py BUILD_DIR|KV_SERVER_BINARY [-k PATTERN]
Python standard library only."""
import http.client
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from ports import free_port  # noqa: E402
import kv_processes  # noqa: E402
from kv_processes import Cluster, Server, Writer, jrequest, request, wait_until  # noqa: E402

BUILD = None
SERVER = None


def raw(port, data, timeout=5, read=True):
    """Sends bytes on a fresh connection; returns what comes back until the server closes or the timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def https_call(port, context, method, target, body=None, token=None):
    """One HTTPS request to localhost:port; (status, parsed JSON), or (0, {}) when no answer came (TLS refused)."""
    try:
        conn = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
        headers = {"Authorization": "Bearer " + token} if token else {}
        conn.request(method, target, body=body, headers=headers)
        res = conn.getresponse()
        data = res.read()
        conn.close()
        return res.status, json.loads(data) if data.strip() else {}
    except OSError:
        return 0, {}


def status_line(reply):
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.") else None


def proc_status(pid, field):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


class ClusterTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="kv-edge-")
        cls.cluster = Cluster(cls.work)
        cls.leader = cls.cluster.leader()
        cls.lport = cls.cluster.http[cls.leader]
        cls.follower = next(n for n in cls.cluster.http if n != cls.leader)
        cls.fport = cls.cluster.http[cls.follower]

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        # Leadership may move under load (a late heartbeat): each test starts from the leader of the moment, and
        # requests that need the leader follow redirects and retry, as a client does.
        self.leader = self.cluster.leader()
        self.lport = self.cluster.http[self.leader]
        self.follower = next(n for n in self.cluster.http if n != self.leader)
        self.fport = self.cluster.http[self.follower]

    def tearDown(self):
        self.assertIsNone(self.cluster.all_alive())

    def lead(self, method, target, body=None):
        """A request through whoever leads: follows 421's Location, retries 503 with Retry-After, up to 20 s."""
        port = self.lport
        deadline = time.time() + 20
        while True:
            status, headers, j = jrequest(port, method, target, body)
            if time.time() > deadline:
                return status, headers, j
            if status == 421:
                port = int(headers["Location"].split("/")[2].rsplit(":", 1)[1])
                continue
            if status == 503 and "Retry-After" in headers:
                time.sleep(0.1)
                port = self.cluster.http[self.cluster.leader()]
                continue
            return status, headers, j

    def retried(self, check, attempts=3):
        """Runs a check that needs a stable leader again (after finding the leader anew) if leadership moved."""
        for attempt in range(attempts):
            try:
                return check()
            except AssertionError:
                if attempt + 1 == attempts or self.cluster.leader() == self.leader:
                    raise
                self.setUp()

    def test_put_get_delete_cas(self):
        self.assertEqual(self.lead("PUT", "/kv/k1", {"value": "v1"})[0], 200)
        status, _, j = self.lead("GET", "/kv/k1")
        self.assertEqual((status, j), (200, {"key": "k1", "value": "v1"}))
        status, _, j = self.lead("POST", "/cas/k1", {"expected": "v1", "value": "v2"})
        self.assertEqual((status, j), (200, {"ok": True, "value": "v2"}))
        status, _, j = self.lead("POST", "/cas/k1", {"expected": "nope", "value": "v3"})
        self.assertEqual((status, j), (200, {"ok": False, "value": "v2"}))
        status, _, j = self.lead("DELETE", "/kv/k1")
        self.assertEqual((status, j), (200, {"ok": True, "existed": True}))
        status, _, j = self.lead("GET", "/kv/k1")
        self.assertEqual((status, j["error"]), (404, "key_not_found"))
        status, _, j = self.lead("POST", "/cas/k1", {"expected": None, "value": "new"})
        self.assertEqual((status, j), (200, {"ok": True, "value": "new"}))

    def test_leadership_is_handed_over_on_request(self):
        status, _, j = jrequest(self.fport, "POST", "/leader", {"name": self.leader})
        self.assertEqual(status, 421)  # through the leader only
        status, _, j = jrequest(self.lport, "POST", "/leader", {"name": "nobody"})
        self.assertEqual((status, j["error"].startswith("'nobody' is not a voter")), (400, True), j)
        status, _, j = jrequest(self.lport, "POST", "/leader", {"name": self.follower})
        self.assertEqual((status, j), (200, {"ok": True, "leader": self.follower,
                                             "http": "127.0.0.1:%d" % self.fport}))
        self.assertEqual(self.cluster.leader(), self.follower)
        self.assertEqual(self.lead("PUT", "/kv/after-transfer", {"value": "1"})[0], 200)
        self.assertEqual(self.lead("GET", "/kv/after-transfer")[2], {"key": "after-transfer", "value": "1"})
        # kv_client, asking any member, follows the redirect; without a name the most up-to-date voter takes over.
        client = os.path.join(os.path.dirname(SERVER), "kv_client")
        out = subprocess.run([client, "--server", "127.0.0.1:%d" % self.lport, "transfer-leader"],
                             capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out)
        moved_to = json.loads(out.stdout)["leader"]
        self.assertNotEqual(moved_to, self.follower)
        self.assertEqual(self.cluster.leader(), moved_to)

    def test_metrics_in_the_prometheus_text_format(self):
        samples = {}

        def leader_metrics():
            status, headers, body = request(self.lport, "GET", "/metrics")
            self.assertEqual(status, 200)
            self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
            samples.clear()
            for line in body.decode().splitlines():
                if not line.startswith("#"):
                    series, value = line.rsplit(" ", 1)
                    samples[series] = float(value)
            if samples.get('raftkit_is_leader{engine="rocksdb",peer="%s"}' % self.leader) != 1:
                self.setUp()  # leadership moved meanwhile: ask the leader of now
                return False
            # The leader's view of its followers is refreshed every tick.
            return len([s for s in samples if s.startswith("raftkit_follower_lag_entries")]) == 2

        self.assertTrue(wait_until(leader_metrics, timeout=20), samples)
        labels = '{engine="rocksdb",peer="%s"}' % self.leader
        self.assertGreater(samples["raftkit_commit_index" + labels], 0)
        self.assertGreater(samples["kv_http_requests_total" + labels], 0)
        self.assertGreater(samples["raftkit_durable_write_seconds_count" + labels], 0)

    def test_keys_that_are_not_utf8_are_refused_on_every_method(self):
        for port in (self.lport, self.fport):
            for method, target, body in (("GET", "/kv/%FF", None), ("PUT", "/kv/%FF", {"value": "x"}),
                                         ("DELETE", "/kv/%FF", None), ("POST", "/cas/%FF", {"expected": None, "value": "x"}),
                                         ("GET", "/kv/a%C0%AF", None), ("GET", "/kv/%ED%A0%80", None)):
                status, _, j = jrequest(port, method, target, body)
                self.assertEqual(status, 400, (method, target))
                self.assertIn("UTF-8", j["error"])
            # Raw bytes in the target, not percent-encoded: refused by the parser or the key check, never a crash.
            for method in (b"GET", b"PUT", b"DELETE"):
                reply = raw(port, method + b" /kv/\xff\xfe HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"value\":\"x\"}")
                self.assertEqual(status_line(reply), 400, reply[:200])

    def test_utf8_keys_and_values_round_trip(self):
        key = "ключ/ü €"
        from urllib.parse import quote
        target = "/kv/" + quote(key, safe="")
        self.assertEqual(self.lead("PUT", target, {"value": "значение ✓"})[0], 200)
        status, _, j = self.lead("GET", target)
        self.assertEqual((status, j), (200, {"key": key, "value": "значение ✓"}))

    def test_percent_encoded_keys(self):
        self.assertEqual(self.lead("PUT", "/kv/a%2Fb%20c", {"value": "1"})[0], 200)
        status, _, j = self.lead("GET", "/kv/a%2fb%20c")
        self.assertEqual((status, j["key"]), (200, "a/b c"))
        status, _, j = self.lead("GET", "/kv/a/b%20c?ignored=1")  # the same key, spelled otherwise
        self.assertEqual((status, j["value"]), (200, "1"))
        for bad in ("/kv/%G1", "/kv/abc%", "/kv/abc%4", "/kv/", "/cas/"):
            status, _, j = jrequest(self.lport, "GET" if bad.startswith("/kv") else "POST", bad, {} if "cas" in bad else None)
            self.assertEqual(status, 400, bad)

    def test_bodies_and_fields_of_the_wrong_type(self):
        for body in ({"value": 5}, {"value": None}, ["value"], "text", {"other": "x"}):
            status, _, _ = jrequest(self.lport, "PUT", "/kv/typed", body)
            self.assertEqual(status, 400, body)
        status, _, _ = request(self.lport, "PUT", "/kv/typed", body=b"\xff\xfe not json")
        self.assertEqual(status, 400)
        status, _, _ = request(self.lport, "PUT", "/kv/typed", body=b"[" * 100000 + b"]" * 100000)
        self.assertEqual(status, 400)
        for body in ({"expected": 1, "value": "x"}, {"value": "x"}, {"expected": None}):
            self.assertEqual(jrequest(self.lport, "POST", "/cas/typed", body)[0], 400, body)

    def test_membership_requests_with_bad_fields_are_refused(self):
        for port in (self.lport, self.fport):
            for body in ({"name": "x", "raft": "127.0.0.1:1", "http": 5}, {"name": 5, "raft": "127.0.0.1:1"},
                         {"name": "x", "raft": 7}, {"name": "x", "raft": "127.0.0.1:99999"},
                         {"name": "x", "raft": "127.0.0.1:x"}, {"name": "", "raft": "127.0.0.1:1"}, [1, 2], "s"):
                status, _, _ = jrequest(port, "POST", "/members", body)
                self.assertEqual(status, 400, body)
            self.assertEqual(jrequest(port, "DELETE", "/members/%FF")[0], 400)

    def test_a_follower_redirects_with_location(self):
        self.assertEqual(self.lead("PUT", "/kv/redirected", {"value": "here"})[0], 200)

        def check():
            status, headers, j = jrequest(self.fport, "GET", "/kv/redirected")
            self.assertEqual(status, 421)
            self.assertEqual(j["leader"], self.leader)
            self.assertEqual(headers["Location"], "http://127.0.0.1:%d/kv/redirected" % self.lport)
            status, _, j = jrequest(self.lport, "GET", headers["Location"].split(str(self.lport), 1)[1])
            self.assertEqual((status, j["value"]), (200, "here"))
            status, headers, _ = jrequest(self.fport, "PUT", "/kv/redirected", {"value": "x"})
            self.assertEqual(status, 421)
            self.assertTrue(headers["Location"].endswith("/kv/redirected"))

        self.retried(check)

    def test_oversized_parts_get_their_status(self):
        self.assertEqual(status_line(raw(self.lport, b"GET /kv/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")), 414)
        self.assertEqual(status_line(raw(self.lport, b"GET /kv/" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")), 414)
        self.assertEqual(status_line(raw(self.lport, b"GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 +
                                         b"\r\n\r\n")), 431)
        # The body limit is enforced from Content-Length, before any body byte is read.
        self.assertEqual(status_line(raw(self.lport, b"PUT /kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")),
                         413)
        status, _, j = jrequest(self.lport, "GET", "/kv/" + "k" * 5000)
        self.assertEqual(status, 400)
        self.assertIn("longer than", j["error"])

    def test_a_request_line_or_header_sent_in_pieces_gets_its_status(self):
        def pieces(*parts):
            s = socket.create_connection(("127.0.0.1", self.lport), timeout=5)
            try:
                for part in parts:
                    s.sendall(part)
                    time.sleep(0.2)  # each piece arrives as a read of its own
                out = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        return out
                    out += chunk
            except (socket.timeout, ConnectionResetError):
                return out
            finally:
                s.close()

        self.assertEqual(status_line(pieces(b"GET /kv/" + b"a" * 3000, b"a" * 17000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")),
                         414)
        self.assertEqual(status_line(pieces(b"GET /sta", b"tus HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 +
                                            b"\r\n\r\n")), 431)

    def test_chunk_headers_and_trailers_that_never_end_are_refused_unbuffered(self):
        pid = self.cluster.servers[self.leader].proc.pid
        rss_before = proc_status(pid, "VmRSS")
        head = b"PUT /kv/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        for start in (head + b"1;", head + b"0\r\nX-Trailer: "):
            s = socket.create_connection(("127.0.0.1", self.lport), timeout=5)
            s.sendall(start)
            sent, limit = 0, 64 << 20
            filler = b"a" * 65536
            while sent < limit:  # a line that never ends, until the server answers
                if select.select([s], [], [], 0)[0]:
                    break
                try:
                    s.sendall(filler)
                except OSError:
                    break
                sent += len(filler)
            reply = b""
            try:
                while len(reply) < 4096:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            except (socket.timeout, ConnectionResetError):
                pass
            s.close()
            self.assertEqual(status_line(reply), 413, (start, reply[:200]))
            self.assertIn(b"chunk header or trailer too large", reply)
            self.assertLess(sent, limit, start)
        rss_after = proc_status(pid, "VmRSS")
        print("endless chunk lines: RSS %d -> %d kB" % (rss_before, rss_after))
        self.assertLess(rss_after - rss_before, 32 * 1024)

    def test_one_state_summary_at_a_time(self):
        # Each GET /state walks the whole store on the apply thread: asked many at once, one is served and the
        # others are told to retry, never queued behind it.
        results = []

        def ask():
            results.append(jrequest(self.fport, "GET", "/state"))

        threads = [threading.Thread(target=ask) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = [r[0] for r in results]
        self.assertIn(200, statuses)
        self.assertEqual(set(statuses) - {200, 429}, set(), statuses)
        for status, headers, j in results:
            if status == 429:
                self.assertEqual(headers.get("Retry-After"), "1")
            else:
                self.assertIn("digest", j)
        self.assertEqual(jrequest(self.fport, "GET", "/state")[0], 200)

    def test_malformed_requests_and_unknown_routes(self):
        for junk in (b"HELLO\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
                     b"PUT /kv/x HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                     b"PUT /kv/x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
                     b"PUT /kv/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"):
            self.assertEqual(status_line(raw(self.lport, junk)), 400, junk)
        status, headers, _ = jrequest(self.lport, "PATCH", "/kv/x")
        self.assertEqual((status, headers.get("Allow")), (405, "GET, PUT, DELETE"))
        self.assertEqual(jrequest(self.lport, "POST", "/status")[0], 405)
        self.assertEqual(request(self.lport, "HEAD", "/status")[0], 405)  # no body-less answers to mis-frame
        self.assertEqual(jrequest(self.lport, "GET", "/nope")[0], 404)

    def test_pipelined_requests_are_answered_in_order(self):
        batch = b"".join(b"PUT /kv/p%d HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n{\"value\":\"v%d\"}" % (i, i)
                         for i in range(5))
        batch += b"GET /kv/p4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

        def check():
            reply = raw(self.lport, batch)
            self.assertEqual(reply.count(b"HTTP/1.1 200"), 6, reply)
            self.assertTrue(reply.rstrip().endswith(b'{"key":"p4","value":"v4"}'), reply[-200:])

        self.retried(check)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        def check():
            c = http.client.HTTPConnection("127.0.0.1", self.lport, timeout=10)
            for i in range(200):
                c.request("PUT", "/kv/ka", body=json.dumps({"value": str(i)}))
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
            c.close()

        self.retried(check)

    def test_slow_clients_do_not_lock_others_out(self):
        pid = self.cluster.servers[self.leader].proc.pid
        threads_before = proc_status(pid, "Threads")
        rss_before = proc_status(pid, "VmRSS")
        held = []
        for i in range(600):  # more than the old server's 512 threads
            s = socket.create_connection(("127.0.0.1", self.lport), timeout=5)
            s.sendall(b"GET /kv/slow HTTP/1.1\r\nHo")
            held.append(s)
        for i in range(5):  # ten partial 60 MB bodies are refused at once, not buffered
            s = socket.create_connection(("127.0.0.1", self.lport), timeout=5)
            s.sendall(b"PUT /kv/x HTTP/1.1\r\nContent-Length: 60000000\r\n\r\n" + b"x" * 65536)
            held.append(s)
        started = time.time()
        status, _, _ = jrequest(self.lport, "GET", "/status", None)
        self.assertEqual(status, 200)
        self.assertEqual(self.lead("PUT", "/kv/while-held", {"value": "ok"})[0], 200)
        self.assertLess(time.time() - started, 5.0)
        threads_during = proc_status(pid, "Threads")
        rss_during = proc_status(pid, "VmRSS")
        for s in held:
            s.close()
        print("slow clients: threads %d -> %d with 605 held connections; RSS %d -> %d kB" %
              (threads_before, threads_during, rss_before, rss_during))
        self.assertLessEqual(threads_during, threads_before + 8)  # peer connections may come and go; never per client
        self.assertLess(rss_during - rss_before, 64 * 1024)


class LimitTests(unittest.TestCase):
    """A single-member cluster with small limits, to watch each bound act."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="kv-limits-")
        self.port = free_port()
        spec = "1=solo@127.0.0.1:%d/127.0.0.1:%d" % (free_port(), self.port)
        self.server = Server(self.work, "solo", ["--members", spec, "--data", os.path.join(self.work, "solo"),
                                                  "--max-connections", "20", "--read-timeout-ms", "2000",
                                                  "--idle-timeout-ms", "1000"]).start()
        self.assertTrue(wait_until(lambda: jrequest(self.port, "GET", "/health")[0] == 200))

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def test_connection_limit_read_and_idle_timeouts(self):
        # Twice the limit, each holding an unfinished request: at most 20 are taken (answered 408 once the read
        # timeout passes), the rest are refused at once with 503 and Retry-After. (Fewer than 20 may be taken:
        # the setUp's connections may still be closing.)
        held = [socket.create_connection(("127.0.0.1", self.port), timeout=10) for _ in range(40)]
        for s in held:
            s.sendall(b"GET /status HTTP/1.1\r\n")  # never finished
        answers = []
        for s in held:
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            answers.append(status_line(data))
            if status_line(data) == 503:
                self.assertIn(b"Retry-After: 1", data)
            s.close()
        self.assertEqual(set(answers), {408, 503}, answers)
        self.assertLessEqual(answers.count(408), 20)
        self.assertGreaterEqual(answers.count(503), 20)
        self.assertTrue(wait_until(lambda: jrequest(self.port, "GET", "/status")[0] == 200, timeout=5))
        # An idle keep-alive connection is closed after the idle timeout.
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        started = time.time()
        self.assertEqual(s.recv(10), b"")
        self.assertLess(time.time() - started, 3)
        s.close()
        status, _, j = jrequest(self.port, "GET", "/status")
        self.assertGreaterEqual(j["http_server"]["refused_connections"], answers.count(503))
        self.assertEqual(j["http_server"]["timed_out_reads"], answers.count(408))


    def test_a_connection_flood_holds_a_bounded_number_of_descriptors(self):
        pid = self.server.proc.pid
        fds_before = len(os.listdir("/proc/%d/fd" % pid))
        held = [socket.create_connection(("127.0.0.1", self.port), timeout=10) for _ in range(400)]
        time.sleep(0.3)  # within the second a 503 answer lingers
        fds_during = len(os.listdir("/proc/%d/fd" % pid))
        for s in held:
            s.close()
        print("connection flood: descriptors %d -> %d with 400 connections, limit 20" % (fds_before, fds_during))
        self.assertLessEqual(fds_during - fds_before, 20 + 64 + 8)  # the limit, the refusals under way, a few spare
        self.assertTrue(wait_until(lambda: jrequest(self.port, "GET", "/status")[0] == 200, timeout=5))


class SecureTests(unittest.TestCase):
    """A single member serving HTTPS, with bearer tokens: clients that do not speak TLS or bring no token get nowhere."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="kv-secure-")
        certs = os.path.join(self.work, "certs")
        subprocess.run([MAKE_CERTS, certs, "localhost"], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.work, "tokens"), "w") as f:
            f.write("read  %s\nwrite %s\n" % ("r" * 32, "w" * 32))
        self.port = free_port()
        spec = "1=solo@127.0.0.1:%d/127.0.0.1:%d" % (free_port(), self.port)
        self.server = Server(self.work, "solo", [
            "--members", spec, "--data", os.path.join(self.work, "solo"), "--read-timeout-ms", "2000",
            "--http-tls-cert", os.path.join(certs, "localhost.pem"), "--http-tls-key", os.path.join(certs, "localhost.key"),
            "--auth-tokens", os.path.join(self.work, "tokens")]).start()
        import ssl
        self.context = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
        self.assertTrue(wait_until(lambda: self.call("GET", "/health")[0] == 200))

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def call(self, method, target, body=None, token=None):
        return https_call(self.port, self.context, method, target, body, token)

    def test_https_with_tokens(self):
        self.assertTrue(wait_until(lambda: self.call("PUT", "/kv/a", '{"value":"1"}', "w" * 32)[0] == 200))
        self.assertEqual(self.call("GET", "/kv/a", token="r" * 32), (200, {"key": "a", "value": "1"}))
        self.assertEqual(self.call("GET", "/kv/a")[0], 401)
        self.assertEqual(self.call("PUT", "/kv/a", '{"value":"2"}', "r" * 32)[0], 403)
        # Plain HTTP to the HTTPS port: no answer, the connection closed; counted.
        reply = raw(self.port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(reply, b"")
        # A client that opens a connection and never starts the TLS handshake is closed at the read timeout.
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        started = time.time()
        self.assertEqual(s.recv(10), b"")
        self.assertLess(time.time() - started, 5)
        s.close()
        status, j = self.call("GET", "/status", token="r" * 32)
        self.assertEqual(status, 200)
        self.assertGreaterEqual(j["http_server"]["tls_handshake_failures"], 2)


class ClientCertificateTests(unittest.TestCase):
    """HTTPS with client certificates (and tokens beside them): a certificate's O is its role; one from another CA
    gets no connection; the server's certificate is replaced without a restart."""

    def setUp(self):
        import ssl
        self.work = tempfile.mkdtemp(prefix="kv-certs-")
        self.certs = os.path.join(self.work, "certs")
        other = os.path.join(self.work, "other")
        quiet = {"check": True, "stdout": subprocess.DEVNULL}
        subprocess.run([MAKE_CERTS, self.certs, "localhost"], **quiet)
        subprocess.run([MAKE_CERTS, "--client", "write", self.certs, "alice"], **quiet)
        subprocess.run([MAKE_CERTS, "--client", "read", self.certs, "bob"], **quiet)
        subprocess.run([MAKE_CERTS, "--client", "admin", other, "eve"], **quiet)
        with open(os.path.join(self.work, "tokens"), "w") as f:
            f.write("read %s\n" % ("r" * 32))
        self.port = free_port()
        spec = "1=solo@127.0.0.1:%d/127.0.0.1:%d" % (free_port(), self.port)
        self.server = Server(self.work, "solo", [
            "--members", spec, "--data", os.path.join(self.work, "solo"),
            "--http-tls-cert", os.path.join(self.certs, "localhost.pem"),
            "--http-tls-key", os.path.join(self.certs, "localhost.key"),
            "--http-client-ca", os.path.join(self.certs, "ca.pem"),
            "--auth-tokens", os.path.join(self.work, "tokens")]).start()

        def context(cert_dir=None, name=None):
            c = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.pem"))
            if name:
                c.load_cert_chain(os.path.join(cert_dir, name + ".pem"), os.path.join(cert_dir, name + ".key"))
            return c
        self.anonymous = context()
        self.alice = context(self.certs, "alice")
        self.bob = context(self.certs, "bob")
        self.peer = context(self.certs, "localhost")
        self.eve = context(other, "eve")
        self.assertTrue(wait_until(lambda: self.call(self.anonymous, "GET", "/health")[0] == 200))

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def call(self, context, method, target, body=None, token=None):
        return https_call(self.port, context, method, target, body, token)

    def served_certificate(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            with self.anonymous.wrap_socket(s, server_hostname="localhost") as t:
                return t.getpeercert(binary_form=True)

    def test_a_certificate_is_its_role(self):
        self.assertTrue(wait_until(lambda: self.call(self.alice, "PUT", "/kv/a", '{"value":"1"}')[0] == 200))
        self.assertEqual(self.call(self.bob, "GET", "/kv/a"), (200, {"key": "a", "value": "1"}))
        status, j = self.call(self.bob, "PUT", "/kv/a", '{"value":"2"}')
        self.assertEqual(status, 403)
        self.assertIn("role is read", j["error"])
        self.assertEqual(self.call(self.alice, "POST", "/members", '{"id":9,"name":"x","raft":"127.0.0.1:1"}')[0],
                         403)
        # A certificate from the CA that names no role (a peer's) proves who asks but allows nothing.
        status, j = self.call(self.peer, "GET", "/kv/a")
        self.assertEqual(status, 403)
        self.assertIn("names no role", j["error"])
        # No certificate: a token, or nothing.
        self.assertEqual(self.call(self.anonymous, "GET", "/kv/a", token="r" * 32)[0], 200)
        status, j = self.call(self.anonymous, "GET", "/kv/a")
        self.assertEqual(status, 401)
        self.assertIn("client certificate", j["error"])
        # A certificate from another CA, however admin it claims to be, gets no connection.
        self.assertEqual(self.call(self.eve, "GET", "/kv/a")[0], 0)
        status, j = self.call(self.anonymous, "GET", "/status", token="r" * 32)
        self.assertGreaterEqual(j["http_server"]["tls_handshake_failures"], 1)

    def test_replacing_the_client_ca_revokes_open_connections_too(self):
        conn = http.client.HTTPSConnection("localhost", self.port, context=self.alice, timeout=10)
        self.assertTrue(wait_until(lambda: self.call(self.alice, "PUT", "/kv/a", '{"value":"1"}')[0] == 200))
        conn.request("GET", "/kv/a")
        self.assertEqual(conn.getresponse().read(), b'{"key":"a","value":"1"}\n')
        # Another CA in its place: alice's kept-alive connection is closed at its next request, her new ones fail
        # the handshake, and eve (the other CA's admin) is let in.
        other_ca = os.path.join(self.work, "other", "ca.pem")
        shutil.copy(other_ca, os.path.join(self.certs, "client-ca.new"))
        os.replace(os.path.join(self.certs, "client-ca.new"), os.path.join(self.certs, "ca.pem"))
        time.sleep(1.2)
        with self.assertRaises(OSError):
            conn.request("GET", "/kv/a")
            conn.getresponse().read()
        conn.close()
        self.assertEqual(self.call(self.alice, "GET", "/kv/a")[0], 0)
        self.assertEqual(self.call(self.eve, "GET", "/kv/a")[0], 200)
        status, j = self.call(self.eve, "GET", "/status")
        self.assertGreaterEqual(j["http_server"]["stale_certificates"], 1)

    def test_the_server_certificate_is_replaced_without_a_restart(self):
        before = self.served_certificate()
        subprocess.run([MAKE_CERTS, "--force", self.certs, "localhost"], check=True, stdout=subprocess.DEVNULL)
        self.assertTrue(wait_until(lambda: self.served_certificate() != before, timeout=10))
        self.assertTrue(wait_until(lambda: self.call(self.alice, "PUT", "/kv/b", '{"value":"1"}')[0] == 200))
        self.assertIsNone(self.server.proc.poll())
        # A certificate and key that do not belong together are not taken: the previous pair stays in force.
        served = self.served_certificate()
        shutil.copy(os.path.join(self.certs, "alice.key"), os.path.join(self.certs, "localhost.key.new"))
        os.replace(os.path.join(self.certs, "localhost.key.new"), os.path.join(self.certs, "localhost.key"))
        time.sleep(1.5)
        self.assertEqual(self.served_certificate(), served)
        self.assertEqual(self.call(self.bob, "GET", "/kv/b")[0], 200)
        with open(os.path.join(self.work, "solo.log"), "rb") as f:
            log = f.read().decode(errors="replace")
        self.assertIn("HTTPS certificate files reloaded", log)
        self.assertIn("HTTPS certificate files changed but cannot be used", log)


class CommandLineTests(unittest.TestCase):
    def run_server(self, *args):
        p = subprocess.run([SERVER] + list(args), capture_output=True, timeout=30)
        return p.returncode, (p.stdout + p.stderr).decode(errors="replace")

    def test_bad_command_lines_name_the_flag_and_write_nothing(self):
        work = tempfile.mkdtemp(prefix="kv-cli-")
        data = os.path.join(work, "data")
        good = "1=a@127.0.0.1:%d/127.0.0.1:%d" % (free_port(), free_port())
        weak_tokens = os.path.join(work, "tokens")
        with open(weak_tokens, "w") as f:
            f.write("admin short\n")
        cases = [
            (["--name", "a", "--members", good, "--data", data, "--bogus", "1"], "--bogus"),
            (["--name", "a", "--members", good, "--data", data, "--engine", "nosuchengine"], "--engine"),
            (["--name", "a", "--members", "garbage", "--data", data], "--members"),
            (["--name", "a", "--members", "1=a@127.0.0.1:x/127.0.0.1:8000", "--data", data], "--members"),
            (["--name", "a", "--members", "1=a@127.0.0.1:70000/127.0.0.1:8000", "--data", data], "--members"),
            (["--name", "b", "--members", good, "--data", data], "--name"),
            (["--name", "a", "--members", good], "--data"),
            (["--members", good, "--data", data], "--name"),
            (["--name", "a", "--members", good, "--data", data, "--snapshot-entries", "lots"], "--snapshot-entries"),
            (["--name", "a", "--members", good, "--data", data, "--read-mode", "fast"], "--read-mode"),
            (["--name", "a", "--join", "127.0.0.1:1", "--data", data], "--raft"),
            # Neither certificates nor an explicit choice of plaintext; a certificate file that is not there; both.
            (["--name", "a", "--members", good, "--data", data], "--insecure-transport"),
            (["--name", "a", "--members", good, "--data", data, "--peer-tls-ca", os.path.join(work, "none.pem"),
              "--peer-tls-cert", SERVER, "--peer-tls-key", SERVER], "--peer-tls-ca"),
            (["--name", "a", "--members", good, "--data", data, "--peer-tls-ca", SERVER], "--peer-tls-cert"),
            (["--name", "a", "--members", good, "--data", data, "--peer-tls-ca", SERVER, "--peer-tls-cert", SERVER,
              "--peer-tls-key", SERVER, "--insecure-transport"], "--insecure-transport"),
            (["--name", "a", "--members", good, "--data", data, "--insecure-transport", "--auth-tokens",
              os.path.join(work, "none")], "--auth-tokens"),
            (["--name", "a", "--members", good, "--data", data, "--insecure-transport", "--auth-tokens",
              weak_tokens], "--auth-tokens"),
            (["--name", "a", "--members", good, "--data", data, "--insecure-transport", "--http-tls-cert", SERVER],
             "--http-tls-key"),
            (["--name", "a", "--members", good, "--data", data, "--insecure-transport", "--http-client-ca", SERVER],
             "--http-tls-cert"),
        ]
        for args, flag in cases:
            code, out = self.run_server(*args)
            self.assertEqual(code, 2, (args, out))
            self.assertIn(flag, out, args)
            self.assertNotIn("terminate called", out)
            self.assertFalse(os.path.exists(data), args)
        # An HTTP port in use: refused before the log is created.
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        spec = "1=a@127.0.0.1:%d/127.0.0.1:%d" % (free_port(), busy.getsockname()[1])
        code, out = self.run_server("--name", "a", "--members", spec, "--data", data, "--insecure-transport")
        self.assertEqual(code, 2, out)
        self.assertIn("--http", out)
        self.assertFalse(os.path.exists(data))
        busy.close()
        code, out = self.run_server("--help")
        self.assertEqual(code, 0)
        for flag in ("--members", "--engine", "--max-connections", "--max-body-bytes", "--read-timeout-ms",
                     "--idle-timeout-ms", "--exit-grace-ms", "--http-threads"):
            self.assertIn(flag, out)
        shutil.rmtree(work, ignore_errors=True)


class RollingRestartTests(unittest.TestCase):
    """Each of three servers stopped (SIGTERM) and started again in turn while a client writes: a leader hands
    leadership over before it stops, so no write fails more than once and none is lost."""

    def test_a_rolling_restart_under_load_costs_each_write_at_most_one_retry(self):
        work = tempfile.mkdtemp(prefix="kv-rolling-")
        cluster = Cluster(work)
        writer = None
        try:
            leader = cluster.leader()
            status, _, j = jrequest(cluster.http[leader], "GET", "/status")
            first_term = j["term"]
            writer = Writer(cluster.http.values(), cluster.http[leader], prefix="rr").start()
            handovers = 0
            for name in sorted(cluster.servers):
                self.assertTrue(writer.wrote_more(20))
                server = cluster.servers[name]
                was_leader = cluster.leader() == name
                server.proc.terminate()
                self.assertEqual(server.proc.wait(30), 0)
                with open(server.log.name, "rb") as f:
                    log = f.read().decode(errors="replace")
                if was_leader:
                    self.assertIn("%s: leadership handed to" % name, log)
                    handovers += 1
                server.start()
                port = cluster.http[name]
                self.assertTrue(wait_until(lambda: jrequest(port, "GET", "/health")[0] == 200, timeout=60), name)
                commit = jrequest(cluster.http[cluster.leader()], "GET", "/status")[2]["commit"]
                self.assertTrue(wait_until(lambda: jrequest(port, "GET", "/status")[2]["applied"] >= commit,
                                           timeout=60), name)
            self.assertTrue(writer.wrote_more(20))
            writer.stop()
            self.assertIsNone(writer.error)
            self.assertGreater(handovers, 0)
            # Every acknowledged write is there, on the leader and, once applied, in every replica's state.
            leader = cluster.leader()
            for i in range(0, writer.writes, max(1, writer.writes // 50)):
                status, _, j = jrequest(cluster.http[leader], "GET", "/kv/rr%d" % i)
                self.assertEqual((status, j.get("value")), (200, str(i)), i)
            term = jrequest(cluster.http[leader], "GET", "/status")[2]["term"]
            # Each handover is one election; any other (a heartbeat late under the test machine's load) costs its own
            # retries, which are not the restart's: the bound holds when there was none.
            if term - first_term == handovers:
                self.assertLessEqual(writer.worst, 1, "writes failed more than once: %s" % writer.failures)
            else:
                print("note: %d election(s) beyond the %d handovers; failures: %s" %
                      (term - first_term - handovers, handovers, writer.failures), file=sys.stderr)
        finally:
            if writer is not None:
                writer.stop()
            cluster.stop()
            if sys.exc_info()[0] is None:
                shutil.rmtree(work, ignore_errors=True)


class DiskFailureTests(unittest.TestCase):
    def test_a_node_whose_disk_fills_stops_says_why_and_exits(self):
        for engine in ("rocksdb", "lmdb", "sqlite"):
            with self.subTest(engine=engine):
                self.disk_fills(engine)

    def disk_fills(self, engine):
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            self.skipTest("needs root and unshare, to give the server a small private tmpfs")
        probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                "mount -t tmpfs -o size=1m none /mnt"], capture_output=True)
        if probe.returncode != 0:
            self.skipTest("cannot mount a tmpfs in a private mount namespace here: %s" % probe.stderr.decode())
        work = tempfile.mkdtemp(prefix="kv-disk-")
        disk = os.path.join(work, "disk")
        os.mkdir(disk)
        port = free_port()
        spec = "1=solo@127.0.0.1:%d/127.0.0.1:%d" % (free_port(), port)
        script = 'mount -t tmpfs -o size=6m none "$0" && exec "$@"'
        server = Server(work, "solo", ["--members", spec, "--data", os.path.join(disk, "solo"), "--exit-grace-ms", "3000",
                                      "--engine", engine])
        server.start(prefix=["unshare", "--mount", "--propagation", "private", "sh", "-c", script, disk])
        try:
            self.assertTrue(wait_until(lambda: jrequest(port, "GET", "/health")[0] == 200))
            value = "v" * 500000
            failed = None
            for i in range(60):
                status, _, j = jrequest(port, "PUT", "/kv/fill%d" % i, {"value": value})
                if status != 200:
                    failed = (status, j)
                    break
            self.assertIsNotNone(failed, "the 6 MB disk never filled")
            self.assertIsNone(server.proc.poll(), "%s: the server died instead of stopping: %s" %
                              (engine, open(server.log.name).read()[-2000:]))
            self.assertEqual(failed[0], 503, failed)
            status, _, j = jrequest(port, "GET", "/status")
            self.assertEqual(status, 200)
            self.assertTrue(j["stopped"], j)
            self.assertIn("durable log failed", j["stop_reason"])
            self.assertIsNone(j["leader"])
            status, _, h = jrequest(port, "GET", "/health")
            self.assertEqual(status, 503)
            self.assertFalse(h["healthy"])
            self.assertIn("stopped", h["reason"])
            status, _, j = jrequest(port, "PUT", "/kv/after", {"value": "x"})
            self.assertEqual((status, j["error"]), (503, "stopped"))
            self.assertEqual(server.proc.wait(20), 3)
        finally:
            server.stop()
            if sys.exc_info()[0] is None:
                shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    BUILD = sys.argv[1]  # a build directory, or the kv_server binary itself (Bazel)
    SERVER = os.path.abspath(BUILD if os.path.isfile(BUILD) else os.path.join(BUILD, "examples", "kv_server"))
    kv_processes.SERVER = SERVER
    MAKE_CERTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              "scripts", "make-certs.sh")
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
