#!/usr/bin/env python3
"""Jepsen-style test of a real raftkit cluster: kv_server processes on their own loopback addresses inside a network
namespace created for the run, concurrent clients over a few keys, faults injected from a seed, and the recorded
history checked for linearizability (raftkit-lincheck) plus end-state checks.

  harness.py --build build --seconds 60 --nemesis partitions|crashes|power|clock|membership|all[,...] --seed S
             --out DIR [--nodes 5] [--bug local-reads|ack-before-fsync --expect-failure]

Re-executes itself under `unshare --net` (root, or a user namespace): nothing outside that namespace's loopback is
contacted. Exit status 0 only if every check passes (with --expect-failure: only if some check fails). Output in
DIR: history.jsonl, nemesis.log, summary.json, plot.png, and each node's server log. See docs/jepsen.md.

Nemeses (cluster.py, nemesis.py):
  partitions  iptables: one node isolated, minority/majority, majorities ring, asymmetric, healed
  crashes     SIGKILL + restart, SIGSTOP/SIGCONT, power loss (one node or a majority at once; unsynced writes lost)
  power       power loss only
  clock       wall-clock offsets, jumps and rates on one node at a time (libfaketime)
  membership  remove a member (its disk wiped), a removed or spare node joins (re-add, replace)
  all         everything together
  leader-clock  (not in all) the leader's timers stall while it is isolated: breaks lease reads, and only them
Checks: per-key linearizability (final reads included), acknowledged writes present, recovery within a bound
after healing, every member caught up, replicas' states identical, no server crashed, the nemesis itself worked.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, request  # noqa: E402
from nemesis import GROUPS, Nemesis, now_us  # noqa: E402
from plot import plot  # noqa: E402
from workload import Client  # noqa: E402


def wait_for_leader(cluster, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cluster.leader_http():
            return True
        time.sleep(0.05)
    return False


def final_reads(cluster, start, history):
    """A linearizable read of every key through the leader, added to the history: a lost acknowledged write then
    shows up as a non-linearizable history, not only as a missing key."""
    final = {}
    for key in sorted({op["key"] for op in history}):
        for _ in range(100):
            target = cluster.leader_http()
            if target:
                invoke = now_us(start)
                try:
                    status, j = request(target, "GET", "/kv/" + key, timeout=3)
                except Exception:
                    status, j = 0, {}
                if status in (200, 404):
                    value = j.get("value") if status == 200 else None
                    final[key] = value
                    history.append({"client": -1, "key": key, "f": "read", "value": value, "invoke": invoke,
                                    "complete": now_us(start), "outcome": "ok"})
                    break
            time.sleep(0.1)
    return final


def settle_membership(cluster, nemesis):
    """After healing: the configuration as the leader has it decides who must be caught up. A member the harness
    thought removed (an unknown outcome) is started again; a running non-member is stopped."""
    names = None
    for _ in range(100):
        names = cluster.members()
        if names:
            break
        time.sleep(0.1)
    if not names:
        return [n for n in cluster.nodes if n.member]
    for n in cluster.nodes:
        n.member = n.name in names
        if n.member and not n.running():
            cluster.start(n)
            nemesis.note("settle: %s is a member; started" % n.name)
        if not n.member and n.running():
            cluster.kill(n)
            nemesis.note("settle: %s is not a member; stopped" % n.name)
    return [n for n in cluster.nodes if n.member]


def poll_caught_up(members, bound):
    """Statuses of every member once they all applied the same index (or at the bound)."""
    start = time.monotonic()
    while True:
        statuses = {}
        for n in members:
            try:
                statuses[n.name] = request(n.http, "GET", "/status")[1]
            except Exception as e:
                statuses[n.name] = {"error": str(e)}
        applied = [s.get("applied") for s in statuses.values()]
        if (all(isinstance(a, int) for a in applied) and len(set(applied)) == 1) or time.monotonic() - start > bound:
            return statuses, time.monotonic() - start
        time.sleep(0.2)


def compare_states(members):
    """Every member's own state (GET /state, read locally) at one applied index: they must be identical."""
    states = {}
    for n in members:
        try:
            states[n.name] = request(n.http, "GET", "/state", timeout=3)[1]
        except Exception as e:
            states[n.name] = {"error": str(e)}
    applied = {name: s.get("applied") for name, s in states.items()}
    digests = {name: s.get("digest") for name, s in states.items()}
    same_point = len(set(applied.values())) == 1 and None not in applied.values()
    passed = same_point and len(set(digests.values())) == 1 and None not in digests.values()
    detail = "at applied index %s: %s" % (
        sorted(set(applied.values()), key=str), {n: (s.get("keys"), s.get("digest")) for n, s in states.items()})
    return passed, detail


def run_inside(args):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["iptables", "-F", "INPUT"], check=True)
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    rng = random.Random(args.seed)
    cluster = Cluster(args, args.nodes, 2 if "membership" in args.groups else 0)
    for n in cluster.nodes:
        if n.member:
            cluster.start(n)
    start = time.monotonic()
    history, lock, stop = [], threading.Lock(), threading.Event()
    wait_for_leader(cluster, 10)
    clients = [Client(i, cluster, random.Random(rng.random()), start, history, lock, stop) for i in range(args.clients)]
    log = open(os.path.join(args.out, "nemesis.log"), "w")
    nemesis_stop = threading.Event()
    nemesis = Nemesis(cluster, random.Random(rng.random()), args.groups, start, nemesis_stop, log)
    nemesis.power_model = None if args.power_model == "any" else args.power_model
    nemesis.power_victims = args.power_victims
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
    members = settle_membership(cluster, nemesis)
    final = final_reads(cluster, start, history)
    # Every member must catch up (a node restarted at the heal may need a snapshot and the log first): poll.
    statuses, caught_up_s = poll_caught_up(members, 3 * args.recovery_bound)
    states_agree, states_detail = compare_states(members)
    cluster.check_exits()
    cluster.stop_all()
    end_us = now_us(start)
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
    keys = sorted({op["key"] for op in history})
    unread = [k for k in keys if k not in final]
    checks["acknowledged writes present"] = {
        "passed": not missing and not unread,
        "detail": "%d keys, %d with acknowledged writes; missing %s; not readable at the end %s" % (
            len(keys), len(acked_keys), missing, unread)}
    checks["recovers after healing"] = {
        "passed": recovered_us is not None,
        "detail": "first write completed %.2f s after healing (bound %.0f s)" % (
            (recovered_us or 0) / 1e6, args.recovery_bound) if recovered_us is not None else "no write within the bound"}
    applied = {name: s.get("applied", s.get("error")) for name, s in statuses.items()}
    commits = {name: s.get("commit") for name, s in statuses.items()}
    checks["members caught up"] = {
        "passed": all(isinstance(v, int) for v in applied.values()) and len(set(applied.values())) == 1,
        "detail": "members %s; applied %s commit %s, %.1f s after the final reads (bound %.0f s)" % (
            [n.name for n in members], applied, commits, caught_up_s, 3 * args.recovery_bound)}
    checks["replicas identical"] = {"passed": states_agree, "detail": states_detail}
    checks["no server crashed"] = {"passed": not cluster.crashed,
                                   "detail": "; ".join(cluster.crashed) or "every exit was the nemesis's doing"}
    checks["nemesis worked"] = {"passed": not nemesis.errors, "detail": "; ".join(nemesis.errors) or "no errors"}
    counts = {"ok": 0, "fail": 0, "unknown": 0}
    for op in history:
        counts[op["outcome"]] += 1
    title = "raftkit jepsen: %s, %s, %g s, seed %d%s%s" % (args.engine, args.nemesis, args.seconds, args.seed,
                                                      ", bug " + args.bug if args.bug != "none" else "",
                                                      ", lease reads" if args.read_mode == "lease" else "")
    png, why = plot(args.out, history, nemesis.windows, end_us / 1e6, title)
    summary = {"seed": args.seed, "engine": args.engine, "read_mode": args.read_mode, "nemesis": args.nemesis, "seconds": args.seconds, "nodes": args.nodes,
               "bug": args.bug, "operations": counts, "faults": nemesis.faults, "fault_windows": nemesis.windows,
               "checks": checks, "plot": png or why, "passed": all(c["passed"] for c in checks.values())}
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("jepsen: %s, %s, %g s, seed %d: %d ok / %d failed / %d unknown operations, %d faults" % (
        args.engine, args.nemesis, args.seconds, args.seed, counts["ok"], counts["fail"], counts["unknown"], len(nemesis.faults)))
    for f in nemesis.faults:
        print("  fault %8.3f s  %s" % (f["time_us"] / 1e6, f["fault"]))
    for name, c in checks.items():
        print("  %s %s: %s" % ("PASS" if c["passed"] else "FAIL", name, c["detail"]))
    print("  plot: %s" % (png or why))
    print("jepsen: %s" % ("PASS" if summary["passed"] else "FAIL"))
    if args.expect_failure:
        caught = [name for name, c in checks.items() if not c["passed"]]
        what = "bug " + args.bug if args.bug != "none" else "read mode " + args.read_mode
        print("jepsen: %s %s" % (what, ("caught by: " + ", ".join(caught)) if caught else "NOT caught"))
        return 0 if caught else 1
    return 0 if summary["passed"] else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--nemesis", default="all",
                   help="comma-separated: %s, or all" % ", ".join(GROUPS))
    p.add_argument("--seed", type=int, default=int(time.time()) % 1000000)
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--read-mode", choices=["readindex", "lease"], default="readindex",
                   help="how the servers answer reads (lease reads trust the leader's clock)")
    p.add_argument("--engine", choices=["rocksdb", "lmdb", "sqlite"], default="rocksdb",
                   help="the servers' durable log engine")
    p.add_argument("--recovery-bound", type=float, default=10.0)
    p.add_argument("--out", default="build/jepsen")
    p.add_argument("--bug", choices=["none", "local-reads", "ack-before-fsync"], default="none",
                   help="run servers with a deliberate bug; with --expect-failure the run passes only if caught")
    p.add_argument("--expect-failure", action="store_true")
    p.add_argument("--power-victims", choices=["any", "all"], default="any",
                   help="who loses power together: one node or a majority (any), or every member (all)")
    p.add_argument("--power-model", choices=["any", "pessimistic", "torn", "reordered"], default="any",
                   help="what a power loss keeps of unsynced writes: none, torn sectors, a random subset; any: "
                        "chosen at random per node and loss")
    p.add_argument("--insecure-transport", action="store_true",
                   help="plaintext between peers (default: mutual TLS, certificates from scripts/make-certs.sh)")
    p.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.build = os.path.abspath(args.build)
    args.out = os.path.abspath(args.out)
    args.groups = [g for g in GROUPS if g != "leader-clock"] if args.nemesis == "all" else args.nemesis.split(",")
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        p.error("unknown nemesis %s (choose from %s, all)" % (unknown, ", ".join(GROUPS)))
    args.power_loss = "crashes" in args.groups or "power" in args.groups
    args.clock = "clock" in args.groups or "leader-clock" in args.groups
    if not args.inside:
        # A private network namespace: its own loopback and firewall; nothing outside is touched.
        cmd = ["unshare", "--net"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
        probe = subprocess.run(cmd + ["sh", "-c", "ip link set lo up && iptables -L INPUT -n >/dev/null"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            print("jepsen: SKIP: cannot create a network namespace with iptables here (%s); run as root with "
                  "iproute2 and iptables installed (scripts/install-deps.sh)" % probe.stderr.strip()[:200])
            sys.exit(77)
        if args.clock and not os.path.exists("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"):
            print("jepsen: SKIP: the clock nemesis needs libfaketime (scripts/install-deps.sh installs faketime)")
            sys.exit(77)
        cmd += [sys.executable, os.path.abspath(__file__), "--inside"] + sys.argv[1:]
        sys.exit(subprocess.run(cmd).returncode)
    sys.exit(run_inside(args))


if __name__ == "__main__":
    main()
