#!/usr/bin/env python3
"""Jepsen-style test of a real raftkit cluster: kv_server processes on their own loopback addresses inside a network
namespace created for the run, concurrent clients over a few keys, faults injected from a seed, and the recorded
history checked for linearizability (raftkit-lincheck) plus end-state checks.

  harness.py --build build --seconds 60 --nemesis partitions|crashes|all --seed S --out DIR [--nodes 5]

Re-executes itself under `unshare --net` (root, or a user namespace): nothing outside that namespace's loopback is
contacted. Exit status 0 only if every check passes. Output in DIR: history.jsonl, nemesis.log, summary.json, and
each node's server log.

What this first version does and does not do yet (see docs/jepsen.md):
  faults   partitions (iptables: one node, minority/majority, majorities ring, asymmetric, heal), SIGKILL + restart,
           SIGSTOP/SIGCONT;
  checks   per-key linearizability of the whole history, every acknowledged write's key readable at the end, the
           cluster serving writes within a bound after healing, and all nodes agreeing on each key at the end.
  not yet  power loss (unsynced writes lost), clock skew (faketime), membership changes, plots, the broken-server
           variant, and a run in the test command.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

KEYS = ["k0", "k1", "k2"]


def now_us(start):
    return int((time.monotonic() - start) * 1e6)


class Node:
    def __init__(self, index, args):
        self.index = index
        self.name = "n%d" % index
        self.ip = "127.0.0.%d" % (10 + index)
        self.raft = "%s:7000" % self.ip
        self.http = "%s:8000" % self.ip
        self.data = os.path.join(args.out, self.name)
        self.log = os.path.join(args.out, self.name + ".log")
        self.proc = None
        self.paused = False


class Cluster:
    def __init__(self, args):
        self.args = args
        self.nodes = [Node(i, args) for i in range(1, args.nodes + 1)]
        self.crashed = []
        self.spec = ",".join("%d=%s@%s/%s" % (n.index, n.name, n.raft, n.http) for n in self.nodes)

    def start(self, node):
        cmd = [os.path.join(self.args.build, "examples", "kv_server"), "--name", node.name, "--members", self.spec,
               "--data", node.data, "--snapshot-entries", "200", "--trailing-entries", "50"]
        if self.args.bug == "local-reads":
            cmd += ["--unsafe-local-reads", "yes"]
        node.proc = subprocess.Popen(cmd, stdout=open(node.log, "a"), stderr=subprocess.STDOUT)
        node.paused = False

    def check_exits(self):
        """Servers that exited without being told to (a crash is a failed run, whatever the history says)."""
        for n in self.nodes:
            if n.proc and n.proc.poll() is not None and n.proc.returncode != 0:
                with open(n.log, errors="replace") as f:
                    tail = f.read()[-600:]
                self.crashed.append("%s exited with status %d; log ends: %s" % (n.name, n.proc.returncode, tail))
                n.proc = None

    def kill(self, node):
        if node.proc and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait()
        node.proc = None

    def pause(self, node, on):
        if node.proc and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGSTOP if on else signal.SIGCONT)
            node.paused = on

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


class Client(threading.Thread):
    """Runs operations one at a time until told to stop, recording each with invoke/complete times."""

    def __init__(self, cid, cluster, rng, start, history, lock, stop):
        super().__init__(daemon=True)
        self.cid, self.cluster, self.rng, self.start0 = cid, cluster, rng, start
        self.history, self.lock, self.stop_flag = history, lock, stop
        # Bound to a home node, as Jepsen's clients are: every operation starts there (a follower answers "not the
        # leader" and the client follows), so each node's view is exercised, stale ones included.
        self.home = cluster.nodes[cid % len(cluster.nodes)].http

    def run(self):
        while not self.stop_flag.is_set():
            self.one()

    def one(self):
        key = self.rng.choice(KEYS)
        r = self.rng.random()
        op = {"client": self.cid, "key": key}
        if r < 0.4:
            op["f"], method, path, body = "read", "GET", "/kv/" + key, None
        elif r < 0.75:
            value = str(self.rng.randrange(10))
            op["f"], op["value"], method, path, body = "write", value, "PUT", "/kv/" + key, {"value": value}
        else:
            expected, value = str(self.rng.randrange(10)), str(self.rng.randrange(10))
            op.update({"f": "cas", "expected": expected, "value": value})
            method, path, body = "POST", "/cas/" + key, {"expected": expected, "value": value}
        op["invoke"] = now_us(self.start0)
        outcome = "unknown"
        refused = False
        deadline = time.monotonic() + 2.0
        target = self.home
        while time.monotonic() < deadline:
            try:
                status, j = request(target, method, path, body)
            except ConnectionRefusedError:
                # Nothing was sent (the node is down): certain not to have happened. Try another node shortly.
                target = self.rng.choice(self.cluster.nodes).http
                time.sleep(0.05)
                continue
            except Exception:
                # A timeout or a connection lost mid-request: the operation may or may not have happened.
                target = self.rng.choice(self.cluster.nodes).http
                break
            if status == 421:  # not the leader: follow the hint (a definite refusal, nothing was applied)
                if j.get("http"):
                    target = j["http"]
                else:
                    target = self.rng.choice(self.cluster.nodes).http
                    time.sleep(0.05)
                continue
            if status == 200 and op["f"] == "read":
                op["value"] = j.get("value")
                outcome = "ok"
            elif status == 404 and op["f"] == "read":
                op["value"] = None
                outcome = "ok"
            elif status == 200 and op["f"] == "write":
                outcome = "ok"
            elif status == 200 and op["f"] == "cas":
                outcome = "ok" if j.get("ok") else "fail"
            elif status == 503 and "Dropped" in json.dumps(j):
                outcome = "fail"  # refused before applying: certain not to have happened
            break
        if op["f"] == "read" and outcome != "ok":
            op["value"] = None
        if outcome != "unknown":
            op["complete"] = now_us(self.start0)
        op["outcome"] = outcome
        with self.lock:
            self.history.append(op)


class Nemesis(threading.Thread):
    def __init__(self, cluster, rng, kinds, start, stop, log):
        super().__init__(daemon=True)
        self.cluster, self.rng, self.kinds, self.start0, self.stop_flag = cluster, rng, kinds, start, stop
        self.log = log
        self.faults = []

    def note(self, what):
        t = now_us(self.start0)
        self.faults.append({"time_us": t, "fault": what})
        self.log.write("%10.3f s  %s\n" % (t / 1e6, what))
        self.log.flush()

    def iptables(self, *rule):
        subprocess.run(["iptables"] + list(rule), check=True)

    def cut(self, a, b):
        self.iptables("-A", "INPUT", "-s", a.ip, "-d", b.ip, "-j", "DROP")

    def heal_network(self):
        self.iptables("-F", "INPUT")

    def run(self):
        while not self.stop_flag.wait(self.rng.uniform(1.0, 4.0)):
            self.inject()

    def inject(self):
        self.cluster.check_exits()
        nodes = list(self.cluster.nodes)
        self.rng.shuffle(nodes)
        choices = []
        if "partitions" in self.kinds:
            choices += ["isolate", "split", "ring", "asymmetric", "heal"]
        if "crashes" in self.kinds:
            choices += ["kill", "restart", "pause", "resume"]
        kind = self.rng.choice(choices)
        if kind == "isolate":
            self.heal_network()
            for other in nodes[1:]:
                self.cut(nodes[0], other)
                self.cut(other, nodes[0])
            self.note("partition: isolate %s" % nodes[0].name)
        elif kind == "split":
            self.heal_network()
            k = self.rng.randrange(1, len(nodes) // 2 + 1)
            for a in nodes[:k]:
                for b in nodes[k:]:
                    self.cut(a, b)
                    self.cut(b, a)
            self.note("partition: %s | %s" % ([n.name for n in nodes[:k]], [n.name for n in nodes[k:]]))
        elif kind == "ring":
            self.heal_network()
            n = len(nodes)
            for i in range(n):
                for j in range(i + 1, n):
                    if min(j - i, n - (j - i)) > 1:
                        self.cut(nodes[i], nodes[j])
                        self.cut(nodes[j], nodes[i])
            self.note("partition: majorities ring %s" % [x.name for x in nodes])
        elif kind == "asymmetric":
            self.heal_network()
            for other in nodes[1:]:
                self.cut(nodes[0], other)
            self.note("partition: %s cannot send (asymmetric)" % nodes[0].name)
        elif kind == "heal":
            self.heal_network()
            self.note("partition: healed")
        elif kind == "kill":
            victim = next((n for n in nodes if n.proc and not n.paused), None)
            if victim:
                self.cluster.kill(victim)
                self.note("process: SIGKILL %s" % victim.name)
        elif kind == "restart":
            victim = next((n for n in nodes if n.proc is None), None)
            if victim:
                self.cluster.start(victim)
                self.note("process: restart %s" % victim.name)
        elif kind == "pause":
            victim = next((n for n in nodes if n.proc and not n.paused), None)
            if victim:
                self.cluster.pause(victim, True)
                self.note("process: SIGSTOP %s" % victim.name)
        elif kind == "resume":
            victim = next((n for n in nodes if n.paused), None)
            if victim:
                self.cluster.pause(victim, False)
                self.note("process: SIGCONT %s" % victim.name)

    def heal_all(self):
        self.cluster.check_exits()
        self.heal_network()
        for n in self.cluster.nodes:
            if n.paused:
                self.cluster.pause(n, False)
            if n.proc is None:
                self.cluster.start(n)
        self.note("heal: network healed, every process running")


def run_inside(args):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["iptables", "-F", "INPUT"], check=True)
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    rng = random.Random(args.seed)
    cluster = Cluster(args)
    for n in cluster.nodes:
        cluster.start(n)
    start = time.monotonic()
    history, lock, stop = [], threading.Lock(), threading.Event()
    # Wait for a leader before the clock of the run starts mattering.
    for _ in range(200):
        try:
            if request(cluster.nodes[0].http, "GET", "/leader")[1].get("leader"):
                break
        except Exception:
            pass
        time.sleep(0.05)
    clients = [Client(i, cluster, random.Random(rng.random()), start, history, lock, stop) for i in range(args.clients)]
    nemesis_stop = threading.Event()
    log = open(os.path.join(args.out, "nemesis.log"), "w")
    kinds = {"partitions": ["partitions"], "crashes": ["crashes"], "all": ["partitions", "crashes"]}[args.nemesis]
    nemesis = Nemesis(cluster, random.Random(rng.random()), kinds, start, nemesis_stop, log)
    for c in clients:
        c.start()
    nemesis.start()
    time.sleep(args.seconds)
    nemesis_stop.set()
    nemesis.join()
    nemesis.heal_all()
    healed_at = now_us(start)
    # Liveness: within the bound after healing a write must succeed somewhere.
    recovered_us = None
    deadline = time.monotonic() + args.recovery_bound
    while time.monotonic() < deadline and recovered_us is None:
        with lock:
            recovered = [op for op in history if op["f"] != "read" and op["outcome"] == "ok" and op["invoke"] >= healed_at]
        if recovered:
            recovered_us = recovered[0]["complete"] - healed_at
        else:
            time.sleep(0.1)
    time.sleep(2.0)
    stop.set()
    for c in clients:
        c.join(timeout=5)
    # Final reads through the leader, and every node's view of each key (after everyone has applied).
    time.sleep(1.0)
    final = {}
    for key in KEYS:
        for _ in range(50):
            try:
                status, j = request(cluster.nodes[0].http, "GET", "/leader")
                leader_http = j.get("http") or cluster.nodes[0].http
                status, j = request(leader_http, "GET", "/kv/" + key, timeout=3)
                if status in (200, 404):
                    final[key] = j.get("value") if status == 200 else None
                    break
            except Exception:
                pass
            time.sleep(0.1)
    # Every node must catch up (a node restarted at the heal may need a snapshot and the log first): poll.
    statuses = {}
    catch_up_start = time.monotonic()
    catch_up_deadline = catch_up_start + 3 * args.recovery_bound
    while True:
        for n in cluster.nodes:
            try:
                statuses[n.name] = request(n.http, "GET", "/status")[1]
            except Exception as e:
                statuses[n.name] = {"error": str(e)}
        applied_now = [s.get("applied") for s in statuses.values()]
        if (all(isinstance(a, int) for a in applied_now) and len(set(applied_now)) == 1) or \
                time.monotonic() > catch_up_deadline:
            break
        time.sleep(0.2)
    caught_up_s = time.monotonic() - catch_up_start
    cluster.check_exits()
    cluster.stop_all()
    log.close()

    with open(os.path.join(args.out, "history.jsonl"), "w") as f:
        f.write(json.dumps({"initial": None}) + "\n")
        for op in history:
            f.write(json.dumps(op, sort_keys=True) + "\n")
    checker = subprocess.run([os.path.join(args.build, "tests", "raftkit-lincheck"), "--budget-ms", "60000",
                              os.path.join(args.out, "history.jsonl")], capture_output=True, text=True)
    verdict_line = checker.stdout.strip().splitlines()[-1] if checker.stdout.strip() else checker.stderr.strip()
    checks = {}
    checks["linearizable"] = {"passed": checker.returncode == 0 and "\tlinearizable" in verdict_line,
                              "detail": verdict_line}
    # Every acknowledged write's key holds a value at the end (keys are never deleted).
    acked_keys = sorted({op["key"] for op in history if op["f"] != "read" and op["outcome"] == "ok"})
    missing = [k for k in acked_keys if final.get(k) is None]
    checks["acknowledged writes present"] = {"passed": not missing and len(final) == len(KEYS),
                                             "detail": "final values %s; missing %s" % (final, missing)}
    checks["recovers after healing"] = {
        "passed": recovered_us is not None,
        "detail": "first write completed %.2f s after healing (bound %.0f s)" % (
            (recovered_us or 0) / 1e6, args.recovery_bound) if recovered_us is not None else "no write within the bound"}
    commits = {name: s.get("commit") for name, s in statuses.items()}
    applied = {name: s.get("applied", s.get("error")) for name, s in statuses.items()}
    checks["nodes caught up"] = {"passed": all(isinstance(v, int) for v in applied.values()) and
                                 len(set(applied.values())) == 1,
                                 "detail": "applied %s commit %s, %.1f s after the clients stopped (bound %.0f s)" % (
                                     applied, commits, caught_up_s, 3 * args.recovery_bound)}
    checks["no server crashed"] = {"passed": not cluster.crashed,
                                   "detail": "; ".join(cluster.crashed) or "every exit was the nemesis's doing"}
    counts = {"ok": 0, "fail": 0, "unknown": 0}
    for op in history:
        counts[op["outcome"]] += 1
    summary = {"seed": args.seed, "nemesis": args.nemesis, "seconds": args.seconds, "nodes": args.nodes,
               "operations": counts, "faults": nemesis.faults, "checks": checks,
               "passed": all(c["passed"] for c in checks.values())}
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("jepsen: %s, %d s, seed %d: %d ok / %d failed / %d unknown operations, %d faults" % (
        args.nemesis, args.seconds, args.seed, counts["ok"], counts["fail"], counts["unknown"], len(nemesis.faults)))
    for f in nemesis.faults:
        print("  fault %8.3f s  %s" % (f["time_us"] / 1e6, f["fault"]))
    for name, c in checks.items():
        print("  %s %s: %s" % ("PASS" if c["passed"] else "FAIL", name, c["detail"]))
    print("jepsen: %s" % ("PASS" if summary["passed"] else "FAIL"))
    if args.expect_failure:
        caught = not summary["passed"]
        print("jepsen: injected bug %s %s" % (args.bug, "caught" if caught else "NOT caught"))
        return 0 if caught else 1
    return 0 if summary["passed"] else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--nemesis", choices=["partitions", "crashes", "all"], default="all")
    p.add_argument("--seed", type=int, default=int(time.time()) % 1000000)
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--recovery-bound", type=float, default=10.0)
    p.add_argument("--out", default="build/jepsen")
    p.add_argument("--bug", choices=["none", "local-reads"], default="none",
                   help="run servers with a deliberate bug; with --expect-failure the run passes only if caught")
    p.add_argument("--expect-failure", action="store_true")
    p.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.build = os.path.abspath(args.build)
    args.out = os.path.abspath(args.out)
    if not args.inside:
        # A private network namespace: its own loopback and firewall; nothing outside is touched.
        cmd = ["unshare", "--net"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
        probe = subprocess.run(cmd + ["sh", "-c", "ip link set lo up && iptables -L INPUT -n >/dev/null"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            print("jepsen: SKIP: cannot create a network namespace with iptables here (%s); run as root with "
                  "iproute2 and iptables installed (scripts/install-deps.sh)" % probe.stderr.strip()[:200])
            sys.exit(77)
        cmd += [sys.executable, os.path.abspath(__file__), "--inside"] + sys.argv[1:]
        sys.exit(subprocess.run(cmd).returncode)
    sys.exit(run_inside(args))


if __name__ == "__main__":
    main()
