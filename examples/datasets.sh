# Sourced by examples/*/run.sh: where the shared datasets are. SCENEBRIDGE_DATASETS names the folder that holds
# them (amazon-art-office, amazon-food-kitchen, courses, junyi-exercises, travel-pois); without it, the
# `shared/datasets` folder beside the checkout (/work/shared/datasets for /work/main). DATASETS is the absolute path
# of the folder found, or empty when there is none (each example then runs on what it ships, and says so).
# Needs ROOT (the checkout).
DATASETS=""
if [ -n "${SCENEBRIDGE_DATASETS:-}" ]; then
  if [ ! -d "$SCENEBRIDGE_DATASETS" ]; then
    echo "SCENEBRIDGE_DATASETS=$SCENEBRIDGE_DATASETS is not a folder" >&2
    exit 2
  fi
  DATASETS=$(cd "$SCENEBRIDGE_DATASETS" && pwd)
elif [ -d "$ROOT/../shared/datasets" ]; then
  DATASETS=$(cd "$ROOT/../shared/datasets" && pwd)
fi

# The scenebridge command: the checkout's venv (`make run` makes it); SB overrides.
SB=${SB:-$ROOT/.venv/bin/scenebridge}
if [ ! -x "$SB" ]; then
  echo "no scenebridge at $SB: run 'make run' first, or set SB=" >&2
  exit 2
fi

# say_missing NAME WHAT: the one line an example prints when a shared dataset is not there.
say_missing() {
  echo "== no $1 dataset (looked in ${SCENEBRIDGE_DATASETS:-$ROOT/../shared/datasets}; set SCENEBRIDGE_DATASETS=" \
       "to the folder holding it): $2"
}
