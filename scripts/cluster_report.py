#!/usr/bin/env python3
"""Turns raftkit_cluster_bench's JSON into docs/bench/cluster.md.  usage: cluster_report.py BENCH.json OUT.md"""
import json, os, platform, sys

data = json.load(open(sys.argv[1]))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
rows = []
for b in data["benchmarks"]:
    engine, clients, size = [int(x) for x in b["name"].split("/")[1:4]]
    rows.append(("memory" if engine == 0 else "rocksdb", clients, size, b["writes_per_second"], b["p50_us"], b["p99_us"], b["peak_rss_mb"]))
out = ["# A 3-node cluster end to end: measured", "",
       f"Produced by `scripts/bench-cluster.sh` from a real run of `raftkit_cluster_bench` on {data['context'].get('date', '?')}.", "",
       f"Machine: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Linux {platform.release()}. All three peers run in one",
       "process (so they share the 2 cores) and talk over loopback WebSockets; RocksDB fsyncs every write on every node.",
       "Each client thread writes to the leader and waits for the result; 2 s per configuration.", "",
       "| engine | clients | value | writes/s | p50 | p99 | peak RSS so far (process) |", "|---|---|---|---|---|---|---|"]
for e, c, s, w, p50, p99, rss in rows:
    out.append(f"| {e} | {c} | {s} B | {w:,.0f} | {p50:,.0f} us | {p99:,.0f} us | {rss:,.0f} MB |")
out += ["", "Goals and where this stands: RocksDB with 16 clients, 128 B: 20,000 writes/s; with 64: 50,000; one",
        "client: p50 at most 600 us; in-memory engine, 16 clients: 70,000 writes/s. Every configuration here falls",
        "short of these goals; the gaps are the next work on the runtime. Known costs: every peer's raft thread",
        "persists, sends and steps on one thread; three peers share two cores in this benchmark; each write is a",
        "separate future and proposal (no client-side batching); the in-memory engine's log and the core's in-memory",
        "log grow without bound without snapshots and compaction, which is what the peak RSS column shows",
        "with 4 KiB values (the column is the process's high-water mark, so it never falls from row to row; per-peer",
        "memory under overload is bounded by max_pending_requests plus that log). TCP_NODELAY on the peer connections took 16-client p99 from ~42 ms (Nagle plus delayed ACK)",
        "to ~2 ms.", ""]
open(sys.argv[2], "w").write("\n".join(out))
print("wrote", sys.argv[2])
