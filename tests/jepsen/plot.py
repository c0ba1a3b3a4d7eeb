"""plot.png: throughput and latency over time, with the fault windows shaded (gnuplot)."""
import os
import shutil
import subprocess

COLORS = {"partition": "#e41a1c", "kill": "#377eb8", "power": "#984ea3", "pause": "#ff7f00",
          "clock": "#4daf4a", "membership": "#a65628"}
BUCKET_S = 0.5


def plot(out_dir, history, windows, seconds, title):
    """Writes out_dir/plot.png; returns its path, or None with the reason when gnuplot is missing or fails."""
    if shutil.which("gnuplot") is None:
        return None, "gnuplot is not installed (scripts/install-deps.sh installs gnuplot-nox)"
    data = os.path.join(out_dir, "plot")
    os.makedirs(data, exist_ok=True)
    buckets = int(seconds / BUCKET_S) + 1
    counts = {o: [0] * buckets for o in ("ok", "fail", "unknown")}
    latency = {"read": [], "write": [], "cas": []}
    for op in history:
        t = (op["complete"] if "complete" in op else op["invoke"]) / 1e6
        b = min(int(t / BUCKET_S), buckets - 1)
        counts[op["outcome"]][b] += 1
        if op["outcome"] == "ok":
            latency[op["f"]].append((op["invoke"] / 1e6, (op["complete"] - op["invoke"]) / 1e3))
    with open(os.path.join(data, "throughput.dat"), "w") as f:
        for b in range(buckets):
            f.write("%.2f %g %g %g\n" % (b * BUCKET_S, *(counts[o][b] / BUCKET_S for o in ("ok", "fail", "unknown"))))
    for fname, points in latency.items():
        step = max(1, len(points) // 15000)  # keep the picture readable and gnuplot quick
        with open(os.path.join(data, "latency-%s.dat" % fname), "w") as f:
            for t, ms in points[::step]:
                f.write("%.4f %.3f\n" % (t, max(ms, 0.01)))
    lines = ['set terminal pngcairo size 1400,900 font ",10"',
             "set output '%s'" % os.path.join(out_dir, "plot.png"),
             "set multiplot layout 2,1 title '%s'" % title.replace("'", ""),
             "set xrange [0:%g]" % seconds, "set grid", "set key outside right top", "set lmargin 10", "set rmargin 22"]
    for i, w in enumerate(windows, start=1):
        lines.append("set object %d rect from first %.3f, graph 0 to first %.3f, graph 1 behind "
                     "fc rgb '%s' fs transparent solid 0.18 noborder" % (
                         i, w["start_us"] / 1e6, (w["end_us"] or w["start_us"]) / 1e6,
                         COLORS.get(w["kind"], "#999999")))
    kinds = sorted({w["kind"] for w in windows})
    legend = "".join(", NaN with boxes fs transparent solid 0.3 noborder fc rgb '%s' title '%s'" % (
        COLORS.get(k, "#999999"), k) for k in kinds)
    tp = os.path.join(data, "throughput.dat")
    lines += ["set ylabel 'operations/s'", "set xlabel 'seconds'",
              "plot '%s' using 1:2 with steps lw 1.5 lc rgb '#1a9850' title 'ok', "
              "'' using 1:3 with steps lc rgb '#fdae61' title 'fail (refused, cas mismatch)', "
              "'' using 1:4 with steps lc rgb '#d73027' title 'unknown'%s" % (tp, legend),
              "set logscale y", "set ylabel 'latency of ok operations (ms)'",
              "plot " + ", ".join("'%s' using 1:2 with points pt 7 ps 0.25 title '%s'" % (
                  os.path.join(data, "latency-%s.dat" % f), f) for f in latency) + legend,
              "unset multiplot"]
    script = os.path.join(data, "plot.gp")
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if r.returncode != 0:
        return None, "gnuplot failed: " + r.stderr.strip()[:300]
    return os.path.join(out_dir, "plot.png"), ""
