#!/usr/bin/env python3
"""Turns raftkit_engine_bench's JSON into docs/bench/engines.md and a PNG chart (gnuplot).

usage: engine_report.py BENCH.json OUT_DIR
"""
import json
import os
import platform
import subprocess
import sys

ENGINES = ["memory", "rocksdb", "lmdb", "sqlite"]
RAW = {1: "rocksdb", 2: "lmdb", 3: "sqlite"}  # BM_RawSyncedWrite kinds; 0 is the plain file


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    fs = subprocess.run(["df", "-T", os.environ.get("RAFTKIT_BENCH_DIR", "/tmp")], capture_output=True, text=True)
    fs_line = fs.stdout.splitlines()[-1].split() if fs.stdout else ["?", "?"]
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {fs_line[1]} on {fs_line[0]}, Linux {platform.release()}"


def args(name):
    return [int(x) for x in name.split("/")[1:] if x.isdigit()]


def main():
    data = json.load(open(sys.argv[1]))
    out_dir = sys.argv[2]
    runs = [b for b in data["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    append, raw, other = {}, {}, []
    for b in runs:
        a = args(b["name"])
        if b["name"].startswith("BM_Append/"):
            append[(ENGINES[a[0]], a[1], a[2])] = b
        elif b["name"].startswith("BM_RawSyncedWrite/"):
            raw[(a[0], a[1], a[2])] = b
        else:
            other.append(b)

    lines = ["# Storage engines: measured", ""]
    lines.append(f"Produced by `scripts/bench-engines.sh` from a real run of `raftkit_engine_bench` on "
                 f"{data['context'].get('date', '?')}.")
    lines.append("")
    lines.append(f"Machine: {machine()}.")
    lines.append("")
    lines.append("Every durable engine fsyncs each write (one write = one batch). The ratio column is raftkit's "
                 "append throughput over the raw engine's own synced write of the same bytes (same record size, "
                 "same batch), measured in the same run; `file` is a plain append + fdatasync loop, the ceiling "
                 "for any engine on this disk.")
    lines.append("")
    lines.append("## Append throughput (entries/s, and ratio to the raw engine)")
    lines.append("")
    header = "| payload | batch | file+fdatasync | " + " | ".join(
        f"{e}" + ("" if e == "memory" else f" | {e} raw | ratio") for e in ENGINES) + " |"
    lines.append(header)
    lines.append("|" + "---|" * (header.count("|") - 1))
    for payload in (128, 1024, 16384):
        for batch in (1, 16, 256):
            row = [f"{payload} B", str(batch)]
            f = raw.get((0, payload, batch))
            row.append(f"{f['entries_per_second']:,.0f}" if f else "-")
            for i, e in enumerate(ENGINES):
                ours = append.get((e, payload, batch))
                row.append(f"{ours['entries_per_second']:,.0f} ({ours['MB_per_second']:.1f} MB/s)" if ours else "-")
                if e == "memory":
                    continue
                r = raw.get((i, payload, batch))
                row.append(f"{r['entries_per_second']:,.0f}" if r else "-")
                row.append(f"{ours['entries_per_second'] / r['entries_per_second']:.0%}" if ours and r else "-")
            lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    below = []
    for (e, payload, batch), ours in sorted(append.items()):
        if e == "memory":
            continue
        r = raw.get((ENGINES.index(e), payload, batch))
        if r and ours["entries_per_second"] < 0.9 * r["entries_per_second"]:
            below.append(f"{e} {payload} B x {batch}: {ours['entries_per_second'] / r['entries_per_second']:.0%}")
    lines.append("### Below the 90% goal in this run")
    lines.append("")
    lines.append(", ".join(below) if below else "None.")
    lines.append("")
    lines.append("Why a ratio can fall short: fsync latency on this virtual disk varies by about 10% between "
                 "consecutive runs, and each configuration runs for only 0.3 s, so single cells move by that much "
                 "from run to run (cells above 100% are the same noise). Beyond noise, raftkit does more per write "
                 "than the raw loop: it validates the batch, encodes each record with its CRC-32C (one more copy of "
                 "every payload, visible at 16 KiB), and updates its in-memory term index; SQLite also binds one "
                 "prepared statement per entry, like the raw loop. LMDB's map starts at 1 GiB and doubles when full, "
                 "rerunning the transaction that filled it; the raw loop pre-sizes 8 GiB. "
                 "Safety costs found by the conformance suite (docs/conformance.md) also show here: LMDB and SQLite "
                 "write a tail-anchor row in every transaction (one more page per commit: it turns a lost or stale "
                 "page at the end of the log from a silently shorter log into a reported error), and SQLite takes "
                 "its own TRUNCATE checkpoints (a database fsync every ~1000 WAL frames) so that no checkpointed "
                 "frame stays in the WAL. The raw loops do neither. The run recorded in git before those changes "
                 "(commit 654ef95) had every cell at 90% or more.")
    lines.append("")
    lines.append("## Reads, truncation, compaction, reopen")
    lines.append("")
    lines.append("| benchmark | engine | time per operation | rate |")
    lines.append("|---|---|---|---|")
    for b in other:
        rate = ""
        for key in ("reads_per_second", "entries_per_second"):
            if key in b:
                rate = f"{b[key]:,.0f} {key.replace('_per_second', '')}/s"
        t = b["real_time"]
        unit = b["time_unit"]
        parts = b["name"].split("/")
        size = [p for p in parts[2:] if p.isdigit()]
        title = parts[0][3:] + (f" {int(size[0]):,} entries" if size else "")
        lines.append(f"| {title} | {b.get('label', '')} | {t:,.1f} {unit} | {rate} |")
    lines.append("")
    lines.append("RandomRead: one entry at a random index of 100k. RangeRead: 256 entries (1 MiB cap) per call. "
                 "Truncate: drop the last 1000 of 20k entries (the timed part). Compact: drop 1000 entries from "
                 "the front. Reopen/N: open a log of N entries, verifying every record's checksum.")
    lines.append("")
    lines.append("![append throughput, 128-byte entries](engines.png)")
    lines.append("")

    # Chart: entries/s against batch size for 128 B payloads, ours solid and raw dashed.
    dat = os.path.join(out_dir, "engines.dat")
    with open(dat, "w") as f:
        f.write("# batch " + " ".join(ENGINES) + " rocksdb_raw lmdb_raw sqlite_raw file\n")
        for batch in (1, 16, 256):
            vals = [append.get((e, 128, batch), {}).get("entries_per_second", 0) for e in ENGINES]
            vals += [raw.get((k, 128, batch), {}).get("entries_per_second", 0) for k in (1, 2, 3, 0)]
            f.write(f"{batch} " + " ".join(f"{v:.0f}" for v in vals) + "\n")
    png = os.path.join(out_dir, "engines.png")
    script = f"""
set terminal png size 900,560
set output '{png}'
set title 'Synced append throughput, 128-byte entries'
set xlabel 'entries per write (batch)'
set ylabel 'entries per second'
set logscale xy
set key outside right
set grid
plot '{dat}' using 1:3 with linespoints lw 2 title 'rocksdb', \\
     '' using 1:4 with linespoints lw 2 title 'lmdb', \\
     '' using 1:5 with linespoints lw 2 title 'sqlite', \\
     '' using 1:6 with linespoints dt 2 title 'rocksdb raw', \\
     '' using 1:7 with linespoints dt 2 title 'lmdb raw', \\
     '' using 1:8 with linespoints dt 2 title 'sqlite raw', \\
     '' using 1:9 with linespoints dt 3 lw 2 title 'file+fdatasync', \\
     '' using 1:2 with linespoints dt 4 title 'memory'
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(dat)
    with open(os.path.join(out_dir, "engines.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {out_dir}/engines.md and {png}")


if __name__ == "__main__":
    main()
