"""Real kv_server processes on loopback for the tests that drive them (tests/kv_server): HTTP calls, one server, a
three-peer cluster, and waiting for a condition. Python standard library only. Set SERVER to the kv_server binary
before starting any."""
import http.client
import json
import os
import subprocess
import threading
import time

from ports import free_port

SERVER = None


def request(port, method, target, body=None, headers=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, target, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, dict(r.getheaders()), data
    finally:
        c.close()


def jrequest(port, method, target, body=None):
    status, headers, data = request(port, method, target, None if body is None else json.dumps(body))
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = data
    return status, headers, parsed


class Server:
    def __init__(self, work, name, args, members=None):
        self.name = name
        self.data = os.path.join(work, name)
        self.log = open(os.path.join(work, name + ".log"), "wb")
        self.args = args
        self.proc = None

    def start(self, prefix=()):
        # Plaintext between peers: these tests are about the HTTP edge (mutual TLS: tests/transport/tls_test.cc,
        # the cluster script and the Jepsen-style runs).
        self.proc = subprocess.Popen(list(prefix) + [SERVER, "--name", self.name, "--insecure-transport"] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_until(predicate, timeout=20, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return True
        except (OSError, http.client.HTTPException, ValueError):
            pass
        time.sleep(step)
    return False


class Cluster:
    """Three peers on loopback with RocksDB logs."""

    def __init__(self, work, extra=()):
        self.http = {}
        spec = []
        for i in (1, 2, 3):
            self.http["peer%d" % i] = free_port()
            spec.append("%d=peer%d@127.0.0.1:%d/127.0.0.1:%d" % (i, i, free_port(), self.http["peer%d" % i]))
        members = ",".join(spec)
        self.servers = {}
        for i in (1, 2, 3):
            name = "peer%d" % i
            self.servers[name] = Server(work, name, ["--members", members, "--data", os.path.join(work, name)]
                                        + list(extra)).start()

    def leader(self):
        found = {}

        def agreed():
            for name, port in self.http.items():
                status, _, j = jrequest(port, "GET", "/status")
                if status != 200 or not j.get("leader"):
                    return False
                found[name] = j["leader"]
            return len(set(found.values())) == 1

        if not wait_until(agreed):
            raise AssertionError("no leader agreed on: %s" % found)
        return next(iter(found.values()))

    def all_alive(self):
        for name, s in self.servers.items():
            if s.proc.poll() is not None:
                return "%s exited with %s" % (name, s.proc.returncode)
            status, _, _ = jrequest(self.http[name], "GET", "/status")
            if status != 200:
                return "%s answered /status with %d" % (name, status)
        return None

    def stop(self):
        for s in self.servers.values():
            s.stop()


class Writer:
    """A careful client writing /kv/PREFIX<i> = "<i>" for i = 0, 1, ... on its own thread: follows 421 and 307
    redirects, waits as Retry-After asks, and asks another member when one does not answer. Records every failed
    attempt and the most any one write needed (worst); error is set if a write failed more than five times."""

    def __init__(self, ports, port, prefix="w"):
        self.ports = list(ports)
        self.port = port
        self.prefix = prefix
        self.writes = 0
        self.failures = []
        self.worst = 0
        self.error = None
        self.stopping = False
        self.thread = threading.Thread(target=self.run)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        self.thread.join(60)

    def wrote_more(self, count, timeout=60):
        before = self.writes
        return wait_until(lambda: self.writes >= before + count or self.error, timeout=timeout)

    def run(self):
        i = 0
        try:
            while not self.stopping:
                failed = 0
                while True:
                    try:
                        code, headers, answer = jrequest(self.port, "PUT", "/kv/%s%d" % (self.prefix, i),
                                                         {"value": str(i)})
                    except (OSError, http.client.HTTPException) as e:
                        code, headers, answer = 0, {}, repr(e)
                    if code == 200:
                        break
                    if code in (421, 307):
                        self.port = int(headers["Location"].split("/")[2].rsplit(":", 1)[1])
                        continue
                    failed += 1
                    self.failures.append((i, self.port, code, answer))
                    if failed > 5:
                        raise AssertionError("write %d failed %d times: %s" % (i, failed, self.failures))
                    if code == 0:  # that server is down: ask another
                        self.port = self.ports[(self.ports.index(self.port) + 1) % len(self.ports)]
                    time.sleep(float(headers.get("Retry-After", "0.05")))
                self.worst = max(self.worst, failed)
                self.writes = i = i + 1
        except Exception as e:  # noqa: BLE001 - reported by the test thread
            self.error = repr(e)
