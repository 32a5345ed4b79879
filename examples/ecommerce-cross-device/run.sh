#!/usr/bin/env bash
# E-commerce across devices, end to end on the embedded defaults: index the Amazon Art/Office store, train the
# art -> office fusion reranker (once), then ask the agent in English and Chinese what to buy "on the phone"
# after purchases "on the PC". Every step is skipped when its output is already there, so a rerun is quick.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SB=${SB:-$ROOT/.venv/bin/scenebridge}
# The shared datasets live beside the checkout (../shared/datasets); DATA overrides.
DATA=${DATA:-$ROOT/../shared/datasets/amazon-art-office}
RUNS=${RUNS:-$ROOT/runs/ecommerce-cross-device}
STORE=$RUNS/store
MODEL=$RUNS/model-art-office
PROFILES=$RUNS/profiles.db
SHOPPER=u8000   # a test-split shopper (never seen in training) whose real art purchases become their profile

if [ ! -f "$DATA/interactions.csv" ]; then
  echo "no Amazon Art/Office data at $DATA: put the shared datasets beside the checkout or set DATA=" >&2
  exit 2
fi
mkdir -p "$RUNS"
if [ ! -f "$STORE/.indexed" ]; then
  echo "== indexing 38,396 items into $STORE (the multilingual USE embedder; cached vectors after the first run)"
  "$SB" index "$DATA" --store "$STORE"
  touch "$STORE/.indexed"
fi
if [ ! -f "$MODEL/config.json" ]; then
  echo "== training the art -> office fusion reranker into $MODEL"
  "$SB" train "$DATA" --source art --target office --out "$MODEL"
fi

say() { echo; echo "== $1"; shift; "$SB" recommend "$@" --store "$STORE" --reranker "$MODEL" --scene office -k 5; }
say "EN, a shopper who says what they bought" \
  "I bought watercolor paints and a sketchbook on my PC; now on my phone I want office supplies for my desk"
say "ZH, the same shopper in Chinese" "我在电脑上买了水彩颜料和素描本，现在用手机想看看书桌上用的办公用品"
"$SB" profiles import "$DATA" --users "$SHOPPER" --profiles "$PROFILES" >/dev/null
say "EN, shopper $SHOPPER: their real art purchases are the profile" "now on my phone: pens and notebooks for the office" \
  --user "$SHOPPER" --profiles "$PROFILES"
