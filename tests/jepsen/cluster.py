"""The cluster under test: kv_server processes on their own loopback addresses, started, killed, paused, cut off
from power, skewed in wall-clock time, removed from and added to the cluster."""
import http.client
import json
import os
import shutil
import signal
import subprocess

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def request(address, method, path, body=None, timeout=1.0):
    """(status, json) or raises on connection errors and timeouts."""
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        payload = json.dumps(body) if body is not None else None
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        res = conn.getresponse()
        data = res.read().decode()
        return res.status, (json.loads(data) if data.strip() else {})
    finally:
        conn.close()


class Node:
    def __init__(self, index, out):
        self.index = index
        self.name = "n%d" % index
        self.ip = "127.0.0.%d" % (10 + index)
        self.raft = "%s:7000" % self.ip
        self.http = "%s:8000" % self.ip
        self.data = os.path.join(out, self.name)
        self.log = os.path.join(out, self.name + ".log")
        self.trace = os.path.join(out, self.name + ".iotrace")
        self.clock = os.path.join(out, self.name + ".clock")              # libfaketime: the wall clock
        self.timer_clock = os.path.join(out, self.name + ".timer-clock")  # kv_server: Raft's timer clock
        self.timer_rate, self.timer_offset_ms = 1.0, 0
        self.proc = None
        self.paused = False
        self.member = False   # in the configuration as far as the harness knows
        self.join_via = None  # set once the node joins a running cluster instead of bootstrapping

    def running(self):
        return self.proc is not None


class Cluster:
    """initial: how many nodes bootstrap the cluster; spares: more nodes that only ever join."""

    def __init__(self, args, initial, spares):
        self.args = args
        self.nodes = [Node(i, args.out) for i in range(1, initial + spares + 1)]
        for n in self.nodes[:initial]:
            n.member = True
        self.spec = ",".join("%d=%s@%s/%s" % (n.index, n.name, n.raft, n.http) for n in self.nodes[:initial])
        self.certs = None
        if not getattr(args, "insecure_transport", False):
            # Mutual TLS between peers, as a deployment runs: one development CA, a certificate per node name.
            self.certs = os.path.join(args.out, "certs")
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            subprocess.run([os.path.join(root, "scripts", "make-certs.sh"), self.certs] + [n.name for n in self.nodes],
                           check=True, stdout=subprocess.DEVNULL)
        self.crashed = []
        self.traced = args.power_loss  # every server runs under the file-operation recorder
        self.skewed = args.clock       # every server runs under libfaketime, with a timer clock the harness drives
        for n in self.nodes:
            os.makedirs(n.data, exist_ok=True)  # the recorder's trace starts from an empty directory
            self.set_clock(n, "+0")
            self.set_timer_clock(n, 1.0, 0)

    def binary(self, name):
        return os.path.join(self.args.build, name)

    def start(self, node):
        cmd = [self.binary("examples/kv_server"), "--name", node.name, "--data", node.data, "--engine", self.args.engine,
               "--snapshot-entries", "200", "--trailing-entries", "50"]
        if node.join_via:
            cmd += ["--join", node.join_via, "--raft", node.raft, "--http", node.http]
        else:
            cmd += ["--members", self.spec]
        if self.certs:
            cmd += ["--peer-tls-ca", os.path.join(self.certs, "ca.pem"),
                    "--peer-tls-cert", os.path.join(self.certs, node.name + ".pem"),
                    "--peer-tls-key", os.path.join(self.certs, node.name + ".key")]
        else:
            cmd += ["--insecure-transport"]
        if self.skewed:
            cmd += ["--timer-clock-file", node.timer_clock]
        if self.args.read_mode != "readindex":
            cmd += ["--read-mode", self.args.read_mode]
        if self.args.bug == "local-reads":
            cmd += ["--unsafe-local-reads", "yes"]
        if self.args.bug == "ack-before-fsync":
            cmd += ["--unsafe-no-sync", "yes"]
        env = dict(os.environ)
        preload = []
        if self.traced:
            preload.append(self.binary("libraftkit_iotrace.so"))
            env.update(RAFTKIT_IOTRACE_ROOT=node.data, RAFTKIT_IOTRACE_FILE=node.trace)
        if self.skewed:
            # libfaketime moves the wall clock only: with a faked CLOCK_MONOTONIC, libfaketime 0.9.10 never wakes a
            # condition-variable wait with a deadline. Raft's timers are skewed through --timer-clock-file instead.
            preload.append(FAKETIME_LIB)
            env.update(FAKETIME_TIMESTAMP_FILE=node.clock, FAKETIME_CACHE_DURATION="1",
                       FAKETIME_DONT_FAKE_MONOTONIC="1")
        if preload:
            env["LD_PRELOAD"] = ":".join(preload)
        node.proc = subprocess.Popen(cmd, stdout=open(node.log, "a"), stderr=subprocess.STDOUT, env=env)
        node.paused = False

    def check_exits(self):
        """Servers that exited without being told to. A join that timed out is not a crash: the node is out."""
        for n in self.nodes:
            if n.proc and n.proc.poll() is not None:
                code = n.proc.returncode
                n.proc = None
                with open(n.log, errors="replace") as f:
                    tail = f.read()[-600:]
                if n.join_via and code == 1 and "join" in tail.lower():
                    n.member = False
                    continue
                self.crashed.append("%s exited with status %d; log ends: %s" % (n.name, code, tail))

    def kill(self, node):
        if node.proc and node.proc.poll() is None:
            if node.paused:
                node.proc.send_signal(signal.SIGCONT)
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait()
        node.proc = None
        node.paused = False

    def pause(self, node, on):
        if node.proc and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGSTOP if on else signal.SIGCONT)
            node.paused = on

    def cut_power(self, node, model, seed):
        """Kills the node and leaves its directory as a power loss would: everything it had not fsynced is gone
        (raftkit-power-loss replays the recorder's trace through the conformance suite's disk model)."""
        self.kill(node)
        # Files the engines keep in shared memory and rebuild on open (SuiteOptions::non_durable_files).
        non_durable = {"lmdb": ["lock.mdb"], "sqlite": ["log.sqlite3-shm"]}.get(self.args.engine, [])
        cmd = [self.binary("raftkit-power-loss"), "--root", node.data, "--trace", node.trace, "--model", model,
               "--seed", str(seed)]
        for name in non_durable:
            cmd += ["--non-durable", name]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("raftkit-power-loss failed: " + (r.stderr or r.stdout).strip())
        return r.stdout.strip()

    def set_clock(self, node, spec):
        """libfaketime offset/rate for node's wall clock, e.g. "+120s", "-1h", "+0 x4" (read within a second)."""
        with open(node.clock + ".tmp", "w") as f:
            f.write(spec + "\n")
        os.replace(node.clock + ".tmp", node.clock)

    def set_timer_clock(self, node, rate, offset_ms):
        """The node's Raft timers run at `rate` and are shifted by offset_ms (a change jumps them; examples/fault_clock.h)."""
        node.timer_rate, node.timer_offset_ms = rate, offset_ms
        with open(node.timer_clock + ".tmp", "w") as f:
            f.write("%g %d\n" % (rate, offset_ms))
        os.replace(node.timer_clock + ".tmp", node.timer_clock)

    def wipe(self, node):
        """A node removed from the cluster loses its disk: it can only come back by joining as a new member."""
        self.kill(node)
        shutil.rmtree(node.data, ignore_errors=True)
        os.makedirs(node.data)
        if os.path.exists(node.trace):
            os.remove(node.trace)

    def stop_all(self):
        for n in self.nodes:
            if n.paused:
                self.pause(n, False)
            if n.proc and n.proc.poll() is None:
                n.proc.terminate()
                try:
                    n.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.kill(n)
            n.proc = None

    def leader_http(self):
        """The leader's HTTP address as some running node sees it, or None."""
        for n in self.nodes:
            if n.running() and not n.paused:
                try:
                    status, j = request(n.http, "GET", "/leader", timeout=0.5)
                    if j.get("http"):
                        return j["http"]
                except Exception:
                    pass
        return None

    def through_leader(self, method, path, timeout):
        """A membership request sent to the leader (following redirects): (ok, detail)."""
        target = self.leader_http()
        for _ in range(3):
            if target is None:
                return False, "no leader known"
            try:
                status, j = request(target, method, path, timeout=timeout)
            except Exception as e:
                return False, "outcome unknown (%s)" % e.__class__.__name__
            if status == 421 and j.get("http"):
                target = j["http"]
                continue
            return status == 200, json.dumps(j)[:200]
        return False, "redirected too often"

    def members(self):
        """Names in the configuration, as the leader reports it (None if no leader answers)."""
        target = self.leader_http()
        if target is None:
            return None
        try:
            status, j = request(target, "GET", "/members", timeout=2)
            return [m["name"] for m in j] if status == 200 else None
        except Exception:
            return None
