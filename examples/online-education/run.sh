#!/usr/bin/env bash
# Online education, end to end on the embedded defaults. Both catalogues are catalogue-only (no enrolment or practice
# logs), so this is the content path: index each folder as it is, then
#  - courses (English): a learner says which courses they finished; the agent offers a guided project next;
#  - junyi-exercises (Chinese): a student says which exercises they did in one area; the agent offers exercises in
#    another area, never one whose prerequisites (relations.csv) they have not done (the prerequisites reranker).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/../datasets.sh"
# courses and junyi-exercises from the shared datasets; without them the copies shipped in this folder are used.
RUNS=${RUNS:-$ROOT/runs/online-education}
COURSES=${DATASETS:+$DATASETS/courses}
JUNYI=${DATASETS:+$DATASETS/junyi-exercises}
if [ -z "$COURSES" ] || [ ! -f "$COURSES/items.csv" ]; then
  say_missing courses "the copy shipped in examples/online-education/courses"
  COURSES=$HERE/courses
fi
mkdir -p "$RUNS"

if [ ! -f "$RUNS/courses-store/.indexed" ]; then
  echo "== indexing the courses catalogue ($COURSES: items.csv only) into $RUNS/courses-store"
  "$SB" index "$COURSES" --store "$RUNS/courses-store"
  touch "$RUNS/courses-store/.indexed"
fi
if [ -n "$JUNYI" ] && [ -f "$JUNYI/items.csv" ]; then
  if [ ! -f "$RUNS/junyi-store/.indexed" ]; then
    echo "== indexing the Junyi exercises ($JUNYI: items.csv; relations.csv is not read by the index) into $RUNS/junyi-store"
    "$SB" index "$JUNYI" --store "$RUNS/junyi-store"
    touch "$RUNS/junyi-store/.indexed"
  fi
else
  say_missing junyi-exercises "the whole catalogue is not indexed; the script below runs on the geometry slice shipped here"
fi

echo; echo "== EN: finished two courses on the laptop, a guided project next on the phone"
"$SB" recommend "I finished machine learning with python and data visualization with python on my laptop; now on my phone I want a guided project to practise" \
  --store "$RUNS/courses-store" --scene project -k 5

# `scenebridge recommend --reranker` takes trained folders; the prerequisite gate is a named reranker
# (prerequisites:RELATIONS), which a conversation script selects. This one runs on the geometry slice shipped here.
echo; echo "== ZH: 学完了解析几何的两个练习，接着练几何 — only exercises whose prerequisites are done"
"$SB" script run "$HERE/conversation-junyi.yaml" --llm "${LLM:-fake}" --show
