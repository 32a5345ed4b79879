#!/usr/bin/env bash
# Social media across platforms, end to end on the embedded defaults: the places a person shared photos of in one
# city (said in words, or their real Flickr visits imported as their profile) drive the places shown for the next
# city. Scenes are the twelve cities of travel-pois; only Glasgow, Osaka and Kumamoto have visits (18 photographers
# in two cities: a demo, not a benchmark), so nothing is trained and the content reranker ranks.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/../datasets.sh"
# travel-pois from the shared datasets (DATA overrides). Without it the POI catalogue shipped here is indexed and the
# profile step is skipped (it needs the visits, interactions.csv).
DATA=${DATA:-${DATASETS:+$DATASETS/travel-pois}}
RUNS=${RUNS:-$ROOT/runs/social-travel}
STORE=$RUNS/store
PROFILES=$RUNS/profiles.db
PHOTOGRAPHER=u04bf89999333   # a real (hashed) Flickr photographer with visits in Glasgow and Osaka
if [ -z "$DATA" ] || [ ! -f "$DATA/items.csv" ]; then
  say_missing travel-pois "the POI catalogue shipped in examples/social-travel/travel-pois, no photo visits"
  DATA=$HERE/travel-pois
fi
mkdir -p "$RUNS"
if [ ! -f "$STORE/.indexed" ]; then
  echo "== indexing the 393 POIs of 12 cities ($DATA) into $STORE"
  "$SB" index "$DATA" --store "$STORE"
  touch "$STORE/.indexed"
fi

echo; echo "== EN: photos shared from Glasgow, the next trip is Osaka"
"$SB" recommend "On Instagram I shared photos at Kelvingrove Art Gallery and Museum, the Burrell Collection and St. Mungo's Cathedral in Glasgow; next month I am in Osaka, where should I go?" \
  --store "$STORE" --scene osaka -k 5
echo; echo "== ZH: 在微信上分享了格拉斯哥的照片，下一站去京都"
"$SB" recommend "我在微信上分享了格拉斯哥大教堂和凯文葛罗夫博物馆的照片，下一站去京都，推荐几个地方" --store "$STORE" --scene kyoto -k 5

if [ -f "$DATA/interactions.csv" ]; then
  "$SB" profiles import "$DATA" --users "$PHOTOGRAPHER" --profiles "$PROFILES"
  "$SB" profiles show "$PHOTOGRAPHER" --profiles "$PROFILES"
  echo; echo "== photographer $PHOTOGRAPHER: their real Flickr visits are the profile; nothing said about them"
  "$SB" recommend "what should I see in Kyoto?" --user "$PHOTOGRAPHER" --profiles "$PROFILES" --store "$STORE" \
    --scene kyoto -k 5
fi
