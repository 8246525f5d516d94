#!/usr/bin/env bash
# Reference runs for the before/after restructure comparison.
# usage: bash commands.sh /path/to/trsp OUTDIR
#   e.g. bash /work/cmp/commands.sh /work/venv-base/bin/trsp /work/cmp/before
# OUTDIR must not exist or be empty: `trsp sweep` / `trsp age` resume from runs/
# already in their output dir, which would hide a difference.
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 TRSP_EXECUTABLE OUTDIR" >&2; exit 2; fi
TRSP=$(realpath "$1")
OUT=$(realpath -m "$2")
[ -x "$TRSP" ] || { echo "not executable: $TRSP" >&2; exit 2; }
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then
    echo "refusing: $OUT exists and is not empty (sweep/age would resume from it)" >&2; exit 2
fi
mkdir -p "$OUT"
# run from a scratch dir so no default output lands in the caller's cwd
WD=$(mktemp -d); cd "$WD"
: > "$OUT/timings.txt"

run() {  # run NAME CMD...
    local name=$1; shift
    echo "+ $*" | tee -a "$OUT/commands_run.txt" >&2
    local t0=$(date +%s.%N)
    "$@" > "$OUT/$name.json" 2> "$OUT/$name.stderr"
    local t1=$(date +%s.%N)
    printf '%-16s %7.2f s\n' "$name" "$(echo "$t1 - $t0" | bc)" | tee -a "$OUT/timings.txt" >&2
}

run compose "$TRSP" compose --seeds 2 --size 8 --temperature 0.6 \
    --observables overlap,s4,statics,rate-law,detailed-balance \
    --out "$OUT/compose.nc" --json
run compose_default "$TRSP" compose --out "$OUT/compose_default.nc" --json
# automatic durations are short here (T=0.6: 1568 frames, T=0.7: 527 frames), so no --duration
run sweep "$TRSP" sweep --temperatures 0.6,0.7 --seeds 2 --size 8 --workers 2 \
    --out "$OUT/sweep" --json
run aging "$TRSP" age --initial-temperature 0.7 --final-temperatures 0.5,0.6 --seeds 3 \
    --size 6 --workers 2 --out "$OUT/aging" --json
cd /; rm -rf "$WD"
echo "done: $OUT" >&2
