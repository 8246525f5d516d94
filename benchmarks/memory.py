"""Peak memory of ``trsp compose`` (default model) against the run length and the pre-flight estimate.

    python benchmarks/memory.py                           # L = 128: 20 and 200 frames, then the default length
    python benchmarks/memory.py --size 64 --durations 5,40 --no-full
    python benchmarks/memory.py --size 64 --durations 20,200 --no-full --observables overlap,s4,block-chi4
    python benchmarks/memory.py --json

Each case is a fresh ``trsp compose`` process (exactly what a user runs, event log
streamed to its --out), a direct child of this script. Its peak RSS is the kernel's
maxrss of that one process, from ``os.wait4`` on its pid. maxrss carries over
through fork + exec, so the child's value is at least this script's own RSS; this
script imports nothing heavy (its own maxrss is printed too, and must be well below
every row). ``--observables`` sets compose's observables: ``s4`` and ``block-chi4`` are
accumulated from the event chunks as they stream, so they hold O(sites x seeds), not
O(events), and the peak stays flat in the run length for them too.

The default-length case uses ``--seeds 1``: the seeds of a compose run one after the
other and keep nothing of an earlier seed but its overlap samples (48 x 64 numbers),
its four-point moments (if asked for) and a few scalars, so the peak of 8 seeds is about
that of one (the short cases check this with ``--seeds 2``). Compare the peaks across
durations: with the event log streamed they do not grow with the run length.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRSP = [sys.executable, "-c", "from trsp_core.cli import main; main()"]


def measure(size: int, seeds: int, duration: float | None, out: Path, observables: str = "overlap") -> dict:
    """One ``trsp compose`` process: its peak RSS [MiB] (wait4 on its pid), events, wall time."""
    args = [*TRSP, "compose", "--size", str(size), "--seeds", str(seeds), "--out", str(out), "--json",
            "--observables", observables]
    if duration is not None:
        args += ["--duration", f"{duration:g}"]
    log_out, log_err = out.with_suffix(".stdout"), out.with_suffix(".stderr")
    t0 = time.perf_counter()
    with open(log_out, "w") as fo, open(log_err, "w") as fe:
        p = subprocess.Popen(args, stdout=fo, stderr=fe, text=True)
        # reap it ourselves: wait4 returns this child's own rusage (RUSAGE_CHILDREN would
        # be the maximum over every child this script ever waited for)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    stdout, stderr = log_out.read_text(), log_err.read_text()
    if p.returncode != 0:
        raise SystemExit(f"trsp compose failed ({p.returncode}):\n{stderr}")
    summary = json.loads(stdout.strip().splitlines()[-1])
    estimate = next((ln for ln in stderr.splitlines() if "estimated peak memory" in ln), "")
    return {"size": size, "seeds": seeds, "observables": observables, "duration": summary["duration"],
            "events": summary["events"], "wall_s": round(wall, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "file_mb": round(out.stat().st_size / 2**20, 1), "estimate": estimate}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--durations", default="20,200", help="short run lengths [frames], comma-separated")
    ap.add_argument("--no-full", action="store_true", help="skip the default-length run")
    ap.add_argument("--observables", default="overlap",
                    help="compose's --observables for every case (e.g. overlap,s4,block-chi4)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    cases = [(2, float(d)) for d in a.durations.split(",") if d]
    if not a.no_full:
        cases.append((1, None))
    rows = []
    with tempfile.TemporaryDirectory(prefix="trsp-mem-") as tmp:
        for k, (seeds, duration) in enumerate(cases):
            row = measure(a.size, seeds, duration, Path(tmp) / f"case{k}.nc", a.observables)
            rows.append(row)
            if not a.json:
                print(f"L={row['size']} seeds={row['seeds']} observables={row['observables']} "
                      f"duration={row['duration']:.6g} frames events={row['events']:,}: "
                      f"peak RSS {row['peak_rss_mb']:.0f} MiB, wall {row['wall_s']:.0f} s, "
                      f"file {row['file_mb']:.0f} MiB\n    {row['estimate']}", flush=True)
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"rows": rows, "peak_rss_mb_max": max(r["peak_rss_mb"] for r in rows),
           "load_avg_1min": os.getloadavg()[0], "self_maxrss_mb": round(self_mb, 1)}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"this script's own maxrss {self_mb:.0f} MiB (a floor of every row); "
              f"load average {out['load_avg_1min']:.1f}")


if __name__ == "__main__":
    main()
