"""Peak memory of ``trsp compose`` (default model) against the run length and the pre-flight estimate.

    python benchmarks/memory.py                           # L = 128: 20 and 200 frames, then the default length
    python benchmarks/memory.py --size 64 --durations 5,40 --no-full
    python benchmarks/memory.py --json

Each case is a fresh ``trsp compose`` process (exactly what a user runs, event log
streamed to its --out); its peak RSS comes from ``wait4`` (the kernel's maxrss of that
process). The default-length case uses ``--seeds 1``: the seeds of a compose run one
after the other and keep nothing of an earlier seed but its overlap samples (48 x 64
numbers) and a few scalars, so the peak of 8 seeds is that of one (the short cases
check this with ``--seeds 2``). Compare the peaks across durations: with the event log
streamed they do not grow with the run length.
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


def measure(size: int, seeds: int, duration: float | None, out: Path) -> dict:
    args = [*TRSP, "compose", "--size", str(size), "--seeds", str(seeds), "--out", str(out), "--json"]
    if duration is not None:
        args += ["--duration", f"{duration:g}"]
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = p.communicate()  # communicate() reaps with waitpid; maxrss comes from the children total
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"trsp compose failed ({p.returncode}):\n{stderr}")
    summary = json.loads(stdout.strip().splitlines()[-1])
    estimate = next((ln for ln in stderr.splitlines() if "estimated peak memory" in ln), "")
    return {"size": size, "seeds": seeds, "duration": summary["duration"], "events": summary["events"],
            "wall_s": round(wall, 1), "file_mb": round(out.stat().st_size / 2**20, 1), "estimate": estimate}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--durations", default="20,200", help="short run lengths [frames], comma-separated")
    ap.add_argument("--no-full", action="store_true", help="skip the default-length run")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    cases = [(2, float(d)) for d in a.durations.split(",") if d]
    if not a.no_full:
        cases.append((1, None))
    rows = []
    with tempfile.TemporaryDirectory(prefix="trsp-mem-") as tmp:
        for seeds, duration in cases:
            # each case in a fresh child of a fresh helper, so RUSAGE_CHILDREN's maxrss is that case alone
            helper = subprocess.run(
                [sys.executable, "-c",
                 "import json, resource, sys; sys.path.insert(0, %r); import memory; "
                 "r = memory.measure(%d, %d, %r, memory.Path(%r)); "
                 "r['peak_rss_mb'] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1); "
                 "print(json.dumps(r))" % (str(Path(__file__).parent), a.size, seeds, duration,
                                            os.path.join(tmp, "c.nc"))],
                capture_output=True, text=True)
            if helper.returncode != 0:
                raise SystemExit(helper.stderr)
            row = json.loads(helper.stdout.strip().splitlines()[-1])
            rows.append(row)
            if not a.json:
                print(f"L={row['size']} seeds={row['seeds']} duration={row['duration']:.6g} frames "
                      f"events={row['events']:,} peak RSS {row['peak_rss_mb']:.0f} MB, wall {row['wall_s']:.0f} s, "
                      f"file {row['file_mb']:.0f} MB\n    {row['estimate']}", flush=True)
    out = {"rows": rows, "peak_rss_mb_max": max(r["peak_rss_mb"] for r in rows),
           "load_avg_1min": os.getloadavg()[0], "self_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if a.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
