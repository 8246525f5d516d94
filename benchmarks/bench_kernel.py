"""Fast kernel vs dense reference throughput: ``python benchmarks/bench_kernel.py [--sizes 12,20,32,64] [--events N]``."""
import argparse
import json

from trsp_core.bench import run_bench


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="12,20,32,64", help="comma-separated lattice sizes L")
    ap.add_argument("--events", type=int, default=30000, help="fast-kernel events timed per size")
    args = ap.parse_args()
    result = run_bench(sizes=tuple(int(s) for s in args.sizes.split(",") if s.strip()), duration_events=args.events)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
