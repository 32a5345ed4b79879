#!/usr/bin/env bash
# Online education, end to end on the embedded defaults. Both catalogues are catalogue-only (no enrolment or practice
# logs), so this is the content path: index each folder as it is, then
#  - courses (English): a learner says which courses they finished; the agent offers a guided project next;
#  - junyi-exercises (Chinese): a student says which exercises they did in one area; the agent offers exercises in
#    another area, never one whose prerequisites (relations.csv) they have not done (the prerequisites reranker).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SB=${SB:-$ROOT/.venv/bin/scenebridge}
# The shared datasets live beside the checkout (../shared/datasets); SHARED overrides. Without them the shipped
# slices in this folder are used.
SHARED=${SHARED:-$ROOT/../shared/datasets}
RUNS=${RUNS:-$ROOT/runs/online-education}
COURSES=$SHARED/courses
[ -f "$COURSES/items.csv" ] || COURSES=$HERE/courses
mkdir -p "$RUNS"

if [ ! -f "$RUNS/courses-store/.indexed" ]; then
  echo "== indexing the courses catalogue ($COURSES: items.csv only) into $RUNS/courses-store"
  "$SB" index "$COURSES" --store "$RUNS/courses-store"
  touch "$RUNS/courses-store/.indexed"
fi
if [ -f "$SHARED/junyi-exercises/items.csv" ] && [ ! -f "$RUNS/junyi-store/.indexed" ]; then
  echo "== indexing the Junyi exercises ($SHARED/junyi-exercises: items.csv and relations.csv) into $RUNS/junyi-store"
  "$SB" index "$SHARED/junyi-exercises" --store "$RUNS/junyi-store"
  touch "$RUNS/junyi-store/.indexed"
fi

echo; echo "== EN: finished two courses on the laptop, a guided project next on the phone"
"$SB" recommend "I finished machine learning with python and data visualization with python on my laptop; now on my phone I want a guided project to practise" \
  --store "$RUNS/courses-store" --scene project -k 5

# `scenebridge recommend --reranker` takes trained folders; the prerequisite gate is a named reranker
# (prerequisites:RELATIONS), which a conversation script selects. This one runs on the geometry slice shipped here.
echo; echo "== ZH: 学完了解析几何的两个练习，接着练几何 — only exercises whose prerequisites are done"
"$SB" script run "$HERE/conversation-junyi.yaml" --llm "${LLM:-fake}" --show
