"""How soon the chat page shows what the server has: chips after the parse stage, the first card after the rerank.

Starts a real ``scenebridge serve`` on 127.0.0.1, opens the page in headless Debian chromium (Playwright) and says 20
statements (EN and ZH alternating, from ``benchmarks/parse_labels.yaml``, the store's scenes only), each as the first
turn of a new conversation so that every one is a full parse. Per turn it reports:

- ``chips_ms``: the chips rendered in the page minus the parse stage's end. The server stamps each event with its
  wall clock (``server_ms``, Unix ms) in the turn's ``on_event`` callback, which runs right after the parse stage;
  the page records ``performance.timeOrigin + performance.now()`` (the same wall clock, sub-ms) after it has put the
  chips into the DOM (``rendered``) and in the next animation frame (``painted``). Same machine, one clock.
- ``card_ms``: the first card rendered minus the rerank stage's end. The ``ranked`` event goes out after the rerank
  stage and the evidence wording (the first part of the ``explain`` stage); that part's time, in the event's own
  ``timings_ms.explain``, is taken off its stamp to get the rerank stage's end.

Usage::

    python benchmarks/web_latency.py --store /work/check/store-ao --llm none --out benchmarks/results/web-none.json
    python benchmarks/web_latency.py --store /work/check/store-ao --llm qwen2.5-coder-1.5b \
        --reranker /work/check/model-ao --out benchmarks/results/web-1.5b.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "benchmarks" / "parse_labels.yaml"


def statements(scenes: list[str], n: int) -> list[str]:
    """``n`` labelled statements of the store's scenes, English and Chinese alternating."""
    rows = [r["text"] for r in yaml.safe_load(LABELS.read_text(encoding="utf-8"))["statements"] if r["scene"] in scenes]
    zh = [t for t in rows if any("\u4e00" <= c <= "\u9fff" for c in t)]
    en = [t for t in rows if t not in zh]
    mixed = [t for pair in zip(en, zh, strict=False) for t in pair]
    if len(mixed) < n:
        sys.exit(f"{LABELS} has only {len(mixed)} EN/ZH statements for the scenes {scenes}")
    return mixed[:n]


def start(args: argparse.Namespace, home: Path, port: int) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "scenebridge.cli", "serve", "--port", str(port), "--store", args.store,
           "--llm", args.llm]  # fmt: skip
    if args.embedder:
        cmd += ["--embedder", args.embedder]
    if args.reranker:
        cmd += ["--reranker", args.reranker]
    # Fresh sessions and profiles; the models stay where $SCENEBRIDGE_HOME has them.
    env = {**os.environ, "SCENEBRIDGE_AGENT_SESSIONS": str(home / "sessions.sqlite"),
           "SCENEBRIDGE_AGENT_PROFILES": str(home / "profiles.sqlite")}  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 300
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"serve did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.5)


def pct(values: list[float]) -> dict[str, float]:
    return {"p50": round(float(np.percentile(values, 50)), 2), "p95": round(float(np.percentile(values, 95)), 2),
            "max": round(max(values), 2)}  # fmt: skip


def drive(url: str, texts: list[str]) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_context(locale="en-US").new_page()
        tab.set_default_timeout(300_000)
        tab.goto(url)
        tab.wait_for_selector("body[data-ready=true]")
        for n, text in enumerate(texts, 1):
            seen = tab.evaluate("window.sbTimings.length")
            tab.click("#new")
            tab.fill("#msg", text)
            tab.press("#msg", "Enter")
            # Done, and the ranked event's next animation frame has come (its painted time is there).
            tab.wait_for_function(
                "(seen) => { const ev = window.sbTimings.slice(seen);"
                " return ev.some(e => ['done', 'error'].includes(e.event))"
                " && ev.filter(e => e.event === 'ranked').every(e => e.painted_ms); }",
                arg=seen,
            )
            mine = tab.evaluate("(seen) => window.sbTimings.slice(seen)", seen)
            parsed = next(e for e in mine if e["event"] == "parsed")
            ranked = next(e for e in mine if e["event"] == "ranked")
            done = tab.evaluate("window.sbResults[window.sbResults.length - 1]")
            rerank_end = ranked["server_ms"] - ranked["timings_ms"].get("explain", 0.0)
            rows.append({"text": text, "parse_source": done["parse_source"],
                         "scene": done["scene"], "timings_ms": done["timings_ms"],
                         "chips_ms": parsed["rendered_ms"] - parsed["server_ms"],
                         "chips_painted_ms": parsed["painted_ms"] - parsed["server_ms"],
                         "card_ms": ranked["rendered_ms"] - rerank_end,
                         "card_painted_ms": ranked["painted_ms"] - rerank_end,
                         "parsed_transport_ms": parsed["arrived_ms"] - parsed["server_ms"],
                         "ranked_transport_ms": ranked["arrived_ms"] - ranked["server_ms"]})  # fmt: skip
            print(f"{n:2d} chips {rows[-1]['chips_ms']:7.2f} ms  card {rows[-1]['card_ms']:7.2f} ms  "
                  f"parse {done['timings_ms']['parse']:8.1f} ms  {text[:50]}", flush=True)  # fmt: skip
        browser.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--llm", default="none")
    ap.add_argument("--embedder", default=None)
    ap.add_argument("--reranker", default=None)
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = 18000 + os.getpid() % 1000
        proc = start(args, Path(tmp), port)
        try:
            scenes = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()["scenes"]
            rows = drive(f"http://127.0.0.1:{port}/", statements(scenes, args.n))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    keys = ("chips_ms", "chips_painted_ms", "card_ms", "card_painted_ms", "parsed_transport_ms", "ranked_transport_ms")
    summary = {"llm": args.llm, "store": args.store, "reranker": args.reranker, "n": len(rows),
               "parse_sources": dict(Counter(r["parse_source"] for r in rows)),
               **{k: pct([r[k] for r in rows]) for k in keys},
               "parse_stage_ms": pct([r["timings_ms"]["parse"] for r in rows]), "turns": rows}  # fmt: skip
    print(json.dumps({k: v for k, v in summary.items() if k != "turns"}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
