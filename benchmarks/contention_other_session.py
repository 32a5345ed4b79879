"""`scenebridge bench contention --policy adaptive --interleave` with its nice-19 loop started in another session
(``setsid``: another autogroup, as a loop started from another terminal is), where the loop's nice does not cut its
share. Writes benchmarks/results/contention-1.5b-adaptive-other-session.json. Run from the checkout's root:

    python benchmarks/contention_other_session.py
"""
import json, subprocess, dataclasses
from pathlib import Path
import scenebridge.bench.contention as C

class OtherSessionPopen(subprocess.Popen):
    def __init__(self, *a, **k):
        k["start_new_session"] = True
        super().__init__(*a, **k)

C.subprocess = type("S", (), {"Popen": OtherSessionPopen, "DEVNULL": subprocess.DEVNULL})
res = C.bench_contention(Path("benchmarks/parse_labels.yaml"), "qwen2.5-coder-1.5b", ["adaptive"], interleave=True,
                         log=print)
print("ratio", res.ratio, "identical", res.identical_outputs, "wall", res.wall_s)
Path("benchmarks/results/contention-1.5b-adaptive-other-session.json").write_text(
    json.dumps(dataclasses.asdict(res), indent=2, ensure_ascii=False) + "\n")
