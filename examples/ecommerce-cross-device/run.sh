#!/usr/bin/env bash
# E-commerce across devices, end to end on the embedded defaults, for two pairs of shops: purchases "on the PC" in
# one shop drive what is shown "on the phone" in the other. For each pair: index the store, train the fusion
# reranker (once), ask the agent in English and Chinese, and answer a test-split shopper whose real history is their
# profile. Pairs: Amazon Arts -> Office, Amazon Grocery (food) -> Home & Kitchen. Every step is skipped when its
# output is already there, so a rerun is quick. Without the shared datasets the 437-item art/office catalogue shipped
# in examples/catalogues is indexed instead and ranked by the content reranker (nothing to train on).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/../datasets.sh"
RUNS=${RUNS:-$ROOT/runs/ecommerce-cross-device}
mkdir -p "$RUNS"

# index DATA STORE: embed a dataset's items into an embedded Chroma folder (once).
index() {
  if [ ! -f "$2/.indexed" ]; then
    echo "== indexing $1 into $2 (the multilingual USE embedder; cached vectors after the first run)"
    "$SB" index "$1" --store "$2"
    touch "$2/.indexed"
  fi
}
# train DATA SOURCE TARGET MODEL [options...]: the fusion reranker for one pair (once).
train() {
  if [ ! -f "$4/config.json" ]; then
    echo "== training the $2 -> $3 fusion reranker into $4"
    "$SB" train "$1" --source "$2" --target "$3" --out "$4" "${@:5}"
  fi
}
# ask TITLE STATEMENT STORE SCENE [options...]: one statement to the agent.
ask() {
  local title=$1 statement=$2 store=$3 scene=$4
  shift 4
  echo; echo "== $title"
  "$SB" recommend "$statement" --store "$store" --scene "$scene" -k 5 "$@"
}

AO=${AO:-${DATASETS:+$DATASETS/amazon-art-office}}
if [ -n "$AO" ] && [ -f "$AO/interactions.csv" ]; then
  index "$AO" "$RUNS/store"
  train "$AO" art office "$RUNS/model-art-office"
  ask "EN, a shopper who says what they bought (art -> office)" \
    "I bought watercolor paints and a sketchbook on my PC; now on my phone I want office supplies for my desk" \
    "$RUNS/store" office --reranker "$RUNS/model-art-office"
  ask "ZH, the same shopper in Chinese" "我在电脑上买了水彩颜料和素描本，现在用手机想看看书桌上用的办公用品" \
    "$RUNS/store" office --reranker "$RUNS/model-art-office"
  # u8000: a test-split shopper (never seen in training); their history (art and office) is imported as the profile.
  "$SB" profiles import "$AO" --users u8000 --profiles "$RUNS/profiles.db" >/dev/null
  ask "EN, shopper u8000: their real purchases are the profile" "now on my phone: pens and notebooks for the office" \
    "$RUNS/store" office --reranker "$RUNS/model-art-office" --user u8000 --profiles "$RUNS/profiles.db"
else
  say_missing amazon-art-office "the shipped 437-item catalogue instead, no trained reranker"
  index "$HERE/../catalogues/art-office-mini" "$RUNS/store-mini"
  ask "EN, a shopper who says what they bought (art -> office, shipped catalogue)" \
    "I bought watercolor paints and a sketchbook on my PC; now on my phone I want office supplies for my desk" \
    "$RUNS/store-mini" office
  ask "ZH, the same shopper in Chinese" "我在电脑上买了水彩颜料和素描本，现在用手机想看看书桌上用的办公用品" \
    "$RUNS/store-mini" office
fi

FK_FULL=${FK:-${DATASETS:+$DATASETS/amazon-food-kitchen}}
if [ -n "$FK_FULL" ] && [ -f "$FK_FULL/interactions.csv" ]; then
  # The shoppers active in both shops (9,398 of 53,061: every valid and test user, 7,501 train users) with all their
  # reviews, and every item. The 43,663 kitchen-only train users are left out: with them the training lists are six
  # times as many (about an hour on a 2-core machine instead of about a quarter).
  FK=$RUNS/amazon-food-kitchen-both
  if [ ! -f "$FK/users.csv" ]; then
    echo "== the food/kitchen shoppers active in both shops ($FK_FULL -> $FK)"
    mkdir -p "$FK.tmp"
    awk -F, 'NR > 1 { seen[$1 FS $3] = 1; user[$1] = 1 }
             END { for (u in user) if ((u FS "food") in seen && (u FS "kitchen") in seen) print u }' \
      "$FK_FULL/interactions.csv" > "$FK.tmp/both.txt"
    for f in interactions users; do
      awk -F, 'NR == FNR { keep[$1] = 1; next } FNR == 1 || ($1 in keep)' "$FK.tmp/both.txt" "$FK_FULL/$f.csv" \
        > "$FK.tmp/$f.csv"
    done
    cp "$FK_FULL/items.csv" "$FK.tmp/items.csv"
    rm "$FK.tmp/both.txt"
    rm -rf "$FK" && mv "$FK.tmp" "$FK"
  fi
  index "$FK" "$RUNS/store-food-kitchen"
  # At most 3 epochs (art -> office stopped at its best, epoch 2, after 4): bounded on a shared machine.
  train "$FK" food kitchen "$RUNS/model-food-kitchen" --epochs 3
  ask "EN, groceries bought on the PC, kitchen things on the phone (food -> kitchen)" \
    "I bought whole bean coffee and loose leaf green tea on my PC; now on my phone I want something for my kitchen" \
    "$RUNS/store-food-kitchen" kitchen --reranker "$RUNS/model-food-kitchen"
  ask "ZH, the same in Chinese" "我在电脑上买了咖啡豆和绿茶，现在用手机想看看厨房用品" \
    "$RUNS/store-food-kitchen" kitchen --reranker "$RUNS/model-food-kitchen"
  # t1: a test-split shopper; their history (food and kitchen) is imported as the profile.
  "$SB" profiles import "$FK" --users t1 --profiles "$RUNS/profiles-food-kitchen.db" >/dev/null
  ask "EN, shopper t1: their real purchases are the profile" "now on my phone: something for my kitchen" \
    "$RUNS/store-food-kitchen" kitchen --reranker "$RUNS/model-food-kitchen" --user t1 \
    --profiles "$RUNS/profiles-food-kitchen.db"
else
  say_missing amazon-food-kitchen "the food -> kitchen pair is skipped"
fi
