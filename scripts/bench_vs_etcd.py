#!/usr/bin/env python3
"""kv_server against etcd on the same machine in the same run: 3 kv_server processes (RocksDB) and a 3-member etcd
cluster (Debian's etcd-server, default durability) on 127.0.0.1, loaded in alternating rounds by wrk with Lua
scripts — 128-byte PUTs to the leader at 1, 16 and 64 connections, linearizable GETs at 16. Every response's
status is checked by the scripts, and sampled keys are read back afterwards. Reports medians (min-max) of
writes/s, p50/p99, CPU time per request of the leader and of all three servers (from /proc), and RSS; and the
in-process cluster benchmark (bench/cluster_bench.cc, RocksDB, 64 clients) from the same run. Writes
docs/bench/vs-etcd.md, vs-etcd.json and vs-etcd.png; the verdicts are computed from the measured figures.

With --tls, a second cluster of each system runs with TLS between peers and HTTPS for clients, and the report
says what TLS costs each at 16 and 64 connections.

    bench_vs_etcd.py --build BUILD [--rounds 3] [--seconds 10] [--out docs/bench] [--tls]"""
import argparse
import base64
import json
import os
import random
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
from ports import free_port  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
VALUE = "v" * 128


# The benchmark's own HTTPS clients (this script, and wrk) do not verify the servers' certificates: loopback only.
UNVERIFIED = ssl.create_default_context()
UNVERIFIED.check_hostname = False
UNVERIFIED.verify_mode = ssl.CERT_NONE


def http(method, url, body=None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=UNVERIFIED) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_until(predicate, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


class Processes:
    """Three server processes of one system and which of them leads."""
    procs = []
    leader_pid = None

    def pids(self):
        return [p.pid for p in self.procs]

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(20)


def make_certs(work, names, ip_san):
    """A CA and one certificate per name (both TLS sides). scripts/make-certs.sh for kv_server's peers (their
    identity is DNS:NAME); for etcd, whose peers check each other's address, a certificate for IP:127.0.0.1."""
    d = os.path.join(work, "certs-" + ("ip" if ip_san else "dns"))
    if not ip_san:
        subprocess.run([os.path.join(ROOT, "scripts", "make-certs.sh"), d] + names, check=True,
                       stdout=subprocess.DEVNULL)
        return d
    os.makedirs(d)
    env = dict(os.environ, OPENSSL_CONF="/dev/null")
    run = lambda *a: subprocess.run(list(a), check=True, cwd=d, env=env, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench-ca")
    for name in names:
        open(os.path.join(d, name + ".ext"), "w").write(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n")
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name)
        run("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")
    return d


class KvCluster(Processes):
    def __init__(self, build, work, tls=False):
        self.name = "kv_server+tls" if tls else "kv_server"
        self.scheme = "https" if tls else "http"
        self.http = [free_port() for _ in range(3)]
        spec = ",".join("%d=n%d@127.0.0.1:%d/127.0.0.1:%d" % (i + 1, i + 1, free_port(), self.http[i]) for i in range(3))
        binary = os.path.join(build, "examples", "kv_server")
        certs = make_certs(work, ["n1", "n2", "n3"], ip_san=False) if tls else None

        def security(i):
            if not tls:
                return ["--insecure-transport"]
            own = os.path.join(certs, "n%d" % (i + 1))
            return ["--peer-tls-ca", os.path.join(certs, "ca.pem"), "--peer-tls-cert", own + ".pem",
                    "--peer-tls-key", own + ".key", "--http-tls-cert", own + ".pem", "--http-tls-key", own + ".key"]

        tag = "kvtls" if tls else "kv"
        self.procs = [subprocess.Popen([binary, "--name", "n%d" % (i + 1), "--members", spec, "--data",
                                        os.path.join(work, "%s%d" % (tag, i)), "--snapshot-entries", "1000000"]
                                       + security(i),
                                       stdout=subprocess.DEVNULL,
                                       stderr=open(os.path.join(work, "%s%d.log" % (tag, i)), "wb"))
                      for i in range(3)]
        self.leader = None

        def leader_known():
            status, j = http("GET", "%s://127.0.0.1:%d/leader" % (self.scheme, self.http[0]))
            if status == 200 and j.get("http"):
                self.leader = int(j["http"].rsplit(":", 1)[1])
                return True
            return False

        if not wait_until(leader_known):
            raise SystemExit("%s: no leader" % self.name)
        self.leader_pid = self.procs[self.http.index(self.leader)].pid

    def lua(self, op, tag):
        if op == "put":
            return PUT_PROLOGUE + """
function request()
  counter = counter + 1
  return wrk.format("PUT", "/kv/%s-" .. thread_id .. "-" .. counter, {["Content-Type"]="application/json"},
                    '{"value":"%s"}')
end
function response(status, headers, body) if status ~= 200 then errors = errors + 1 end end
""" % (tag, VALUE) + DONE
        return """
errors = 0  -- global: done() reads it from each thread
local threads = {}
function setup(thread) table.insert(threads, thread) end
function request() return wrk.format("GET", "/kv/%s-read") end
function response(status, headers, body) if status ~= 200 then errors = errors + 1 end end
""" % tag + DONE

    def prepare_reads(self, tag):
        status, _ = http("PUT", "%s://127.0.0.1:%d/kv/%s-read" % (self.scheme, self.leader, tag), {"value": VALUE})
        assert status == 200, status

    def check(self, tag, count):
        """Reads back sampled keys the PUT rounds wrote (thread 1, requests 1..count)."""
        bad = 0
        for n in random.sample(range(1, max(2, count)), min(20, max(1, count - 1))):
            status, j = http("GET", "%s://127.0.0.1:%d/kv/%s-1-%d" % (self.scheme, self.leader, tag, n))
            if status != 200 or j.get("value") != VALUE:
                bad += 1
        return bad


class EtcdCluster(Processes):
    def __init__(self, work, tls=False):
        self.name = "etcd+tls" if tls else "etcd"
        s = self.scheme = "https" if tls else "http"
        self.client = [free_port() for _ in range(3)]
        peer = [free_port() for _ in range(3)]
        initial = ",".join("e%d=%s://127.0.0.1:%d" % (i, s, peer[i]) for i in range(3))
        certs = make_certs(work, ["e0", "e1", "e2"], ip_san=True) if tls else None
        tag = "etcdtls" if tls else "etcd"
        self.procs = []
        for i in range(3):
            cmd = ["etcd", "--name", "e%d" % i, "--data-dir", os.path.join(work, "%s%d" % (tag, i)),
                   "--listen-client-urls", "%s://127.0.0.1:%d" % (s, self.client[i]),
                   "--advertise-client-urls", "%s://127.0.0.1:%d" % (s, self.client[i]),
                   "--listen-peer-urls", "%s://127.0.0.1:%d" % (s, peer[i]),
                   "--initial-advertise-peer-urls", "%s://127.0.0.1:%d" % (s, peer[i]),
                   "--initial-cluster", initial, "--initial-cluster-state", "new",
                   "--initial-cluster-token", "bench-" + tag, "--log-level", "error"]
            if tls:
                own = os.path.join(certs, "e%d" % i)
                cmd += ["--cert-file", own + ".pem", "--key-file", own + ".key",
                        "--peer-cert-file", own + ".pem", "--peer-key-file", own + ".key",
                        "--peer-trusted-ca-file", os.path.join(certs, "ca.pem"), "--peer-client-cert-auth"]
            self.procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                               stderr=open(os.path.join(work, "%s%d.log" % (tag, i)), "wb")))
        self.leader = None

        def leader_known():
            for i, port in enumerate(self.client):
                status, j = http("POST", "%s://127.0.0.1:%d/v3/maintenance/status" % (self.scheme, port), {})
                if status != 200 or "leader" not in j:
                    return False
                if j["header"]["member_id"] == j["leader"]:
                    self.leader = port
            return self.leader is not None

        if not wait_until(leader_known):
            raise SystemExit("%s: no leader" % self.name)
        self.leader_pid = self.procs[self.client.index(self.leader)].pid

    def lua(self, op, tag):
        value = base64.b64encode(VALUE.encode()).decode()
        if op == "put":
            return PUT_PROLOGUE + """
local function b64(s)
  local chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  return ((s:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b %% 2^i - b %% 2^(i-1) > 0 and '1' or '0') end
    return r end) .. '0000'):gsub('%%d%%d?%%d?%%d?%%d?%%d?', function(x)
      if (#x < 6) then return '' end
      local c = 0
      for i = 1, 6 do c = c + (x:sub(i,i) == '1' and 2^(6-i) or 0) end
      return chars:sub(c+1, c+1) end) .. ({ '', '==', '=' })[#s %% 3 + 1])
end
function request()
  counter = counter + 1
  local key = b64("%s-" .. thread_id .. "-" .. counter)
  return wrk.format("POST", "/v3/kv/put", {["Content-Type"]="application/json"},
                    '{"key":"' .. key .. '","value":"%s"}')
end
function response(status, headers, body) if status ~= 200 then errors = errors + 1 end end
""" % (tag, value) + DONE
        key = base64.b64encode(("%s-read" % tag).encode()).decode()
        return """
errors = 0  -- global: done() reads it from each thread
local threads = {}
function setup(thread) table.insert(threads, thread) end
function request()
  return wrk.format("POST", "/v3/kv/range", {["Content-Type"]="application/json"}, '{"key":"%s"}')
end
function response(status, headers, body)
  if status ~= 200 or not body:find('"kvs"', 1, true) then errors = errors + 1 end
end
""" % key + DONE

    def prepare_reads(self, tag):
        key = base64.b64encode(("%s-read" % tag).encode()).decode()
        status, _ = http("POST", "%s://127.0.0.1:%d/v3/kv/put" % (self.scheme, self.leader),
                         {"key": key, "value": base64.b64encode(VALUE.encode()).decode()})
        assert status == 200, status

    def check(self, tag, count):
        bad = 0
        for n in random.sample(range(1, max(2, count)), min(20, max(1, count - 1))):
            key = base64.b64encode(("%s-1-%d" % (tag, n)).encode()).decode()
            status, j = http("POST", "%s://127.0.0.1:%d/v3/kv/range" % (self.scheme, self.leader), {"key": key})
            kvs = j.get("kvs") if isinstance(j, dict) else None
            if status != 200 or not kvs or base64.b64decode(kvs[0]["value"]).decode() != VALUE:
                bad += 1
        return bad


# Shared by the PUT scripts: a per-thread request counter and thread id, so every key written is new.
PUT_PROLOGUE = """
local counter = 0
errors = 0  -- global: done() reads it from each thread
local thread_id = 0
local threads = {}
function setup(thread) thread:set("id", #threads + 1); table.insert(threads, thread) end
function init(args) thread_id = id end
"""

# Shared by every script: one JSON line with the totals, errors summed over threads.
DONE = """
function done(summary, latency, requests)
  local errs = 0
  for _, t in ipairs(threads) do errs = errs + t:get("errors") end
  io.write(string.format('RESULT {"requests":%d,"seconds":%f,"errors":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration / 1e6, errs,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(cluster, op, connections, seconds, tag, work):
    script = os.path.join(work, "%s-%s-%s.lua" % (cluster.name, op, tag))
    open(script, "w").write(cluster.lua(op, tag))
    if op == "get":
        cluster.prepare_reads(tag)
    threads = 1 if connections == 1 else 2
    pids = cluster.pids()
    cpu0 = {p: cpu_seconds(p) for p in pids}
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--latency",
                          "-s", script, "%s://127.0.0.1:%d" % (cluster.scheme, cluster.leader)],
                         capture_output=True, text=True, timeout=seconds + 60)
    cpu = {p: cpu_seconds(p) - cpu0[p] for p in pids}
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit("wrk gave no result for %s %s:\n%s\n%s" % (cluster.name, op, out.stdout, out.stderr))
    r = json.loads(line[len("RESULT "):])
    r["rate"] = r["requests"] / r["seconds"]
    r["cpu_ms_leader"] = 1000 * cpu[cluster.leader_pid] / max(1, r["requests"])
    r["cpu_ms_all"] = 1000 * sum(cpu.values()) / max(1, r["requests"])
    r["rss_mb"] = sum(rss_mb(p) for p in pids)
    if op == "put":
        r["unreadable"] = cluster.check(tag, r["requests"] // max(1, threads))
    return r


def in_process_writes(build):
    out = subprocess.run([os.path.join(build, "bench", "raftkit_cluster_bench"),
                          "--benchmark_filter=BM_ClusterWrites/1/64/128/", "--benchmark_format=json"],
                         capture_output=True, text=True, timeout=300).stdout
    return json.loads(out)["benchmarks"][0]["writes_per_second"]


def median_range(values):
    return statistics.median(values), min(values), max(values)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "docs", "bench"))
    ap.add_argument("--tls", action="store_true",
                    help="also run both systems with TLS between peers and HTTPS for clients (PUT at 16 and 64 "
                         "connections) and report what TLS costs each")
    args = ap.parse_args()
    for tool in ("etcd", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit("%s is not installed (scripts/bench-vs-etcd.sh installs it)" % tool)
    work = tempfile.mkdtemp(prefix="bench-vs-etcd-")
    configs = [("put", 1), ("put", 16), ("put", 64), ("get", 16)]
    tls_configs = [("put", 16), ("put", 64)] if args.tls else []
    names = ["kv_server", "etcd"] + (["kv_server+tls", "etcd+tls"] if args.tls else [])
    results = {c: {n: [] for n in names} for c in configs}
    clusters = []
    try:
        clusters.append(KvCluster(args.build, work))
        clusters.append(EtcdCluster(work))
        if args.tls:
            clusters.append(KvCluster(args.build, work, tls=True))
            clusters.append(EtcdCluster(work, tls=True))
        for rnd in range(args.rounds):
            for op, conns in configs:
                running = [c for c in clusters if "+tls" not in c.name or (op, conns) in tls_configs]
                shift = rnd % len(running)  # which system goes first turns round by round
                order = running[shift:] + running[:shift]
                for cluster in order:
                    r = run_wrk(cluster, op, conns, args.seconds, "r%d%s%d" % (rnd, op, conns), work)
                    results[(op, conns)][cluster.name].append(r)
                    print("round %d %-13s %s c=%-2d %8.0f/s p50 %6d us p99 %6d us errors %d cpu/req %.3f ms (leader %.3f)"
                          % (rnd + 1, cluster.name, op, conns, r["rate"], r["p50_us"], r["p99_us"],
                             r["errors"] + r["socket_errors"] + r.get("unreadable", 0), r["cpu_ms_all"],
                             r["cpu_ms_leader"]), flush=True)
    finally:
        for c in clusters:
            c.stop()
    inproc = in_process_writes(args.build)
    print("in-process cluster benchmark, RocksDB, 64 clients: %.0f writes/s" % inproc)
    shutil.rmtree(work, ignore_errors=True)
    report(results, configs, tls_configs, inproc, args)


def report(results, configs, tls_configs, inproc, args):
    def med(c, name, key):
        return median_range([r[key] for r in results[c][name]])

    rows = []
    summary = {}
    for c in configs:
        k_rate, e_rate = med(c, "kv_server", "rate"), med(c, "etcd", "rate")
        k_p50, e_p50 = med(c, "kv_server", "p50_us"), med(c, "etcd", "p50_us")
        k_p99, e_p99 = med(c, "kv_server", "p99_us"), med(c, "etcd", "p99_us")
        k_cpu, e_cpu = med(c, "kv_server", "cpu_ms_all"), med(c, "etcd", "cpu_ms_all")
        k_cpul, e_cpul = med(c, "kv_server", "cpu_ms_leader"), med(c, "etcd", "cpu_ms_leader")
        k_rss, e_rss = med(c, "kv_server", "rss_mb"), med(c, "etcd", "rss_mb")
        errors = {n: sum(r["errors"] + r["socket_errors"] + r.get("unreadable", 0) for r in results[c][n])
                  for n in ("kv_server", "etcd")}
        label = "%s %d conn" % ("PUT" if c[0] == "put" else "GET (linearizable)", c[1])
        summary[label] = {"kv_rate": k_rate[0], "etcd_rate": e_rate[0], "rate_ratio": k_rate[0] / e_rate[0],
                          "kv_p50_us": k_p50[0], "etcd_p50_us": e_p50[0], "p50_ratio": k_p50[0] / max(1, e_p50[0]),
                          "kv_cpu_ms": k_cpu[0], "etcd_cpu_ms": e_cpu[0], "cpu_ratio": k_cpu[0] / e_cpu[0],
                          "errors": errors}
        rows.append("| %s | %.0f (%.0f–%.0f) | %.0f (%.0f–%.0f) | **%.2fx** | %d / %d µs | %d / %d µs | %.3f / %.3f ms | "
                    "%.3f / %.3f ms | %.0f / %.0f MB | %d / %d |" % (
                        label, *k_rate, *e_rate, k_rate[0] / e_rate[0], k_p50[0], e_p50[0], k_p99[0], e_p99[0],
                        k_cpul[0], e_cpul[0], k_cpu[0], e_cpu[0], k_rss[0], e_rss[0],
                        errors["kv_server"], errors["etcd"]))
    put64 = summary["PUT 64 conn"]
    goals = [
        ("PUT at 64 connections ≥ 5x etcd's writes/s", put64["rate_ratio"] >= 5, "%.2fx" % put64["rate_ratio"]),
        ("PUT at 16 connections ≥ 4x etcd's writes/s", summary["PUT 16 conn"]["rate_ratio"] >= 4,
         "%.2fx" % summary["PUT 16 conn"]["rate_ratio"]),
        ("PUT at 1 connection: p50 ≤ 0.6x etcd's", summary["PUT 1 conn"]["p50_ratio"] <= 0.6,
         "%.2fx" % summary["PUT 1 conn"]["p50_ratio"]),
        ("linearizable GET at 16 ≥ 10x etcd's", summary["GET (linearizable) 16 conn"]["rate_ratio"] >= 10,
         "%.2fx" % summary["GET (linearizable) 16 conn"]["rate_ratio"]),
        ("CPU per write, three servers, ≤ 1/5 of etcd's (64 conn)", put64["cpu_ratio"] <= 0.2,
         "%.2fx" % put64["cpu_ratio"]),
        ("server at 64 conn ≥ 70% of the in-process benchmark at 64 clients", put64["kv_rate"] >= 0.7 * inproc,
         "%.0f%% (%.0f of %.0f writes/s)" % (100 * put64["kv_rate"] / inproc, put64["kv_rate"], inproc)),
        ("every response checked, nothing lost", all(sum(s["errors"].values()) == 0 for s in summary.values()),
         "%d errors" % sum(sum(s["errors"].values()) for s in summary.values())),
    ]
    tls_rows = []
    for c in tls_configs:
        label = "PUT %d conn" % c[1]
        cells = []
        for system in ("kv_server", "etcd"):
            plain, secure = med(c, system, "rate"), med(c, system + "+tls", "rate")
            cost = 1 - secure[0] / plain[0]
            summary[label]["%s_tls_rate" % ("kv" if system == "kv_server" else "etcd")] = secure[0]
            summary[label]["%s_tls_cost" % ("kv" if system == "kv_server" else "etcd")] = cost
            cells.append("%.0f (%.0f–%.0f) | %.0f (%.0f–%.0f) | **%.1f%%**" % (*plain, *secure, 100 * cost))
        tls_rows.append("| %s | %s |" % (label, " | ".join(cells)))
    if tls_configs:
        cost16 = summary["PUT 16 conn"]["kv_tls_cost"]
        goals.append(("TLS (peers and clients) costs kv_server ≤ 15% of writes/s at 16 connections", cost16 <= 0.15,
                      "%.1f%% (etcd: %.1f%%)" % (100 * cost16, 100 * summary["PUT 16 conn"]["etcd_tls_cost"])))
        tls_errors = sum(r["errors"] + r["socket_errors"] + r.get("unreadable", 0)
                         for c in tls_configs for n in ("kv_server+tls", "etcd+tls") for r in results[c][n])
        goals.append(("every response over TLS checked, nothing lost", tls_errors == 0, "%d errors" % tls_errors))
    os.makedirs(args.out, exist_ok=True)
    json.dump({"summary": summary, "in_process_64": inproc,
               "raw": {"%s/%d" % c: v for c, v in results.items()}}, open(os.path.join(args.out, "vs-etcd.json"), "w"),
              indent=1)
    chart = plot(summary, args.out)
    cpu = open("/proc/cpuinfo").read()
    model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("model name")), "?")
    lines = [
        "# kv_server against etcd",
        "",
        "Generated by `scripts/bench-vs-etcd.sh` on %s: %d cores (%s), %d rounds of %d s per configuration, "
        "alternating which system goes first. 3 kv_server processes (RocksDB, ReadIndex reads) and a 3-member "
        "etcd %s cluster (default durability, JSON gateway) on 127.0.0.1, all on the same cores as wrk; 128-byte "
        "values, every request to the leader. Medians (min–max); kv_server / etcd in the paired columns. CPU per "
        "request is user+system time from /proc." % (time.strftime("%Y-%m-%d"), os.cpu_count(), model, args.rounds,
                                                     args.seconds, etcd_version()),
        "",
        "| load | kv_server req/s | etcd req/s | ratio | p50 | p99 | CPU/req leader | CPU/req 3 servers | RSS 3 servers | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ] + rows + [
        "",
        "The in-process cluster benchmark (`bench/cluster_bench.cc`, RocksDB, 64 clients, same run): %.0f writes/s." % inproc,
        "",
    ] + ([
        "## What TLS costs",
        "",
        "The same loads against a second cluster of each system with TLS 1.2+ between its peers (mutual, certificates "
        "from one CA) and HTTPS for clients (wrk over TLS, keep-alive: one handshake per connection), in the same "
        "rounds. Writes/s, medians (min–max); cost = 1 − TLS / plaintext.",
        "",
        "| load | kv_server plaintext | kv_server TLS | cost | etcd plaintext | etcd TLS | cost |",
        "|---|---|---|---|---|---|---|",
    ] + tls_rows + [""] if tls_configs else []) + [
        "## Goals",
        "",
        "| goal | measured | met |",
        "|---|---|---|",
    ] + ["| %s | %s | %s |" % (g, m, "yes" if ok else "**no**") for g, ok, m in goals] + [
        "",
        "![writes/s and reads/s](%s)" % os.path.basename(chart) if chart else "",
        "",
    ]
    open(os.path.join(args.out, "vs-etcd.md"), "w").write("\n".join(lines))
    print("\n".join(lines))


def etcd_version():
    try:
        out = subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout
        return out.split()[2]
    except Exception:
        return "?"


def plot(summary, out):
    if shutil.which("gnuplot") is None:
        return None
    data = os.path.join(out, "vs-etcd.dat")
    with open(data, "w") as f:
        for label, s in summary.items():
            f.write('"%s" %f %f\n' % (label, s["kv_rate"], s["etcd_rate"]))
    png = os.path.join(out, "vs-etcd.png")
    script = """set terminal pngcairo size 900,450
set output '%s'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8
set ylabel 'requests/s (median)'
set grid ytics
set key top left
plot '%s' using 2:xtic(1) title 'kv_server', '' using 3 title 'etcd'
""" % (png, data)
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    os.remove(data)
    return png if os.path.exists(png) else None


if __name__ == "__main__":
    main()
