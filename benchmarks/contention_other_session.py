"""`scenebridge bench contention --policy adaptive --interleave` with its nice-19 loop started in another session
(``setsid``: another autogroup, as a loop started from another terminal is), where the loop's nice does not cut its
share. Writes benchmarks/results/contention-1.5b-adaptive-other-session.json. Run from the checkout's root:

    python benchmarks/contention_other_session.py
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import types
from pathlib import Path
from typing import Any

import scenebridge.bench.contention as contention


class _OtherSession(subprocess.Popen[bytes]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "start_new_session": True})


def main() -> None:
    # The benchmark's own loop, started through this module's Popen instead of subprocess's.
    contention.subprocess = types.SimpleNamespace(Popen=_OtherSession, DEVNULL=subprocess.DEVNULL)  # type: ignore[assignment]
    res = contention.bench_contention(Path("benchmarks/parse_labels.yaml"), "qwen2.5-coder-1.5b", ["adaptive"],
                                      interleave=True, log=print)  # fmt: skip
    print("ratio", res.ratio, "identical", res.identical_outputs, "wall", res.wall_s)
    out = Path("benchmarks/results/contention-1.5b-adaptive-other-session.json")
    out.write_text(json.dumps(dataclasses.asdict(res), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
