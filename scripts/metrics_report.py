#!/usr/bin/env python3
"""Turns the metrics-cost benchmarks' JSON into docs/bench/metrics.md. usage: metrics_report.py BENCH.json OUT.md

Two measures. BM_MetricsCost: the cluster's write rate with the latency histograms on and off, side by side, whose
run-to-run noise on a small machine is larger than the 2% goal. BM_HistogramsPerDurableWrite: the histograms' own
work per durable write, from which the verdict is computed as a bound: that work times the durable writes the three
peers made per client write (counted in the same runs), as a share of the CPU the machine has at the measured rate,
and as a share of a write's median latency (two durable writes on its path: the leader's and a follower's)."""
import json
import os
import platform
import statistics
import sys

GOAL = 0.02  # the metrics may cost at most 2% of the write rate

data = json.load(open(sys.argv[1]))
runs = {0: [], 1: []}
per_write_ns = []
for b in data["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration":
        continue
    if b["name"].startswith("BM_HistogramsPerDurableWrite"):
        per_write_ns.append(b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]])
        continue
    runs[int(b["name"].split("/")[1])].append((b["writes_per_second"], b["p50_us"], b["p99_us"],
                                                b.get("durable_writes_per_write")))
if not per_write_ns:
    sys.exit("metrics_report: no BM_HistogramsPerDurableWrite runs in " + sys.argv[1])
if not runs[0] or not runs[1]:
    sys.exit("metrics_report: no runs with and without the histograms in " + sys.argv[1])
cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def median(state, column):
    return statistics.median(r[column] for r in runs[state])


off, on = median(0, 0), median(1, 0)
spread = max(statistics.pstdev(r[0] for r in runs[s]) / median(s, 0) for s in (0, 1))
ns = statistics.median(per_write_ns)
counted = [r[3] for r in runs[1] if r[3] is not None]
if not counted:
    sys.exit("metrics_report: no run with the histograms on made a write")
durable_per_write = max(counted)
cpu_share = ns * 1e-9 * durable_per_write * on / os.cpu_count()
latency_share = 2 * ns * 1e-3 / median(1, 1)
bound = max(cpu_share, latency_share)
verdict = "within" if bound <= GOAL else "OVER"
out = ["# What the metrics cost: measured", "",
       f"Produced by `scripts/bench-metrics.sh` from a real run of `raftkit_cluster_bench` (BM_MetricsCost) on "
       f"{data['context'].get('date', '?')}.", "",
       f"Machine: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Linux {platform.release()}. Three peers in one "
       "process over loopback WebSockets, the in-memory engine (no fsync to hide the cost), 16 clients writing "
       "128-byte values to the leader, 2 s per run; runs with the latency histograms on "
       "(`PeerOptions::latency_histograms`, the default) and off interleaved in random order.", "",
       f"**The histograms cost at most {bound * 100:.3f}% ({verdict} the {GOAL * 100:.0f}% goal).** Their work per "
       f"durable write takes {ns:.0f} ns (median of {len(per_write_ns)} runs of BM_HistogramsPerDurableWrite); "
       f"the three peers made at most {durable_per_write:.2f} durable writes per client write, so at the "
       f"{on:,.0f} writes/s measured that is {cpu_share * 100:.3f}% of "
       f"the machine's {os.cpu_count()} cores, and twice on a write's path it is {latency_share * 100:.3f}% of "
       f"the median write latency ({median(1, 1):,.0f} us).", "",
       f"Side by side, the median write rate with the histograms on was {on / off * 100:.1f}% of the rate without; the "
       f"run-to-run spread (standard deviation over median) was {spread * 100:.1f}%, so this comparison cannot "
       "resolve a difference of a few percent on this machine, and the bound above is the verdict. Counters and "
       "gauges are relaxed atomic adds and are on in both.", "",
       "| histograms | runs | median writes/s | median p50 | median p99 |", "|---|---|---|---|---|"]
for state, name in ((1, "on"), (0, "off")):
    out.append(f"| {name} | {len(runs[state])} | {median(state, 0):,.0f} | {median(state, 1):,.0f} us | "
               f"{median(state, 2):,.0f} us |")
out += ["", "Every run (writes/s):", "",
        "- on: " + ", ".join(f"{r[0]:,.0f}" for r in runs[1]),
        "- off: " + ", ".join(f"{r[0]:,.0f}" for r in runs[0]), ""]
open(sys.argv[2], "w").write("\n".join(out))
print("wrote %s: at most %.3f%% (%s the goal); side by side on/off %.1f%%, spread %.1f%%" %
      (sys.argv[2], bound * 100, verdict, on / off * 100, spread * 100))
