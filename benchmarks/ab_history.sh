#!/bin/bash
# Before/after of the history path, back to back: `bench turn --history` on two git worktrees of commit AT, "A" with
# src/scenebridge/rerank taken from BASE (the reranker before the change), "B" with it from AFTER; the same harness,
# agent, store, model and users in both. Runs alternate (A B A B ...) so that drifting load falls on both. AT must be
# a commit whose agent the BASE reranker can serve (from 74a450c on the agent passes RerankQuery.history_weights).
# AB_PATHS swaps other paths instead (AB_PATHS=src: the whole package of BASE against that of AFTER); AB_SCENES
# chooses the statements' scenes (default office; "all" for every scene of the store). Pool the runs with
# benchmarks/ab_report.py OUTDIR.
#   benchmarks/ab_history.sh BASE AFTER AT STORE MODEL DATA OUTDIR [PASSES]
set -euo pipefail
base=$1 after=$2 at=$3 store=$4 model=$5 data=$6 out=$7 passes=${8:-3}
root=$(git rev-parse --show-toplevel)
mkdir -p "$out"
for t in A B; do
  [ -d "$out/$t" ] || git -C "$root" worktree add --detach "$out/$t" "$at" >/dev/null
done
paths=${AB_PATHS:-src/scenebridge/rerank}
scenes=${AB_SCENES:-office}
# shellcheck disable=SC2086  # AB_PATHS is a list of paths
git -C "$out/A" checkout "$base" -- $paths
# shellcheck disable=SC2086
git -C "$out/B" checkout "$after" -- $paths
[ "$scenes" = all ] && scene_opt=() || scene_opt=(--scenes "$scenes")
for i in $(seq 1 "$passes"); do
  for t in A B; do
    echo "$t$i $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
    PYTHONPATH="$out/$t/src" nice -n 5 "$root/.venv/bin/python" -m scenebridge.cli bench turn --store "$store" \
      --embedder use-multilingual --reranker "$model" --history "$data" "${scene_opt[@]}" --llm none --repeat 3 \
      --out "$out/$t$i.json" >"$out/$t$i.log" 2>&1
  done
done
