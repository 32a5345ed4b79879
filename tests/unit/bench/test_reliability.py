"""The reliability report's renderer: parts in a fixed order, the headline from their figures, missing parts and
figures named, unreadable files reported instead of failing."""

from __future__ import annotations

import json

import pytest

from scenebridge.bench.reliability import OUT_ENV, load_parts, main, render, write_part

pytestmark = pytest.mark.unit


def part(folder, name, **figures):
    data = {"title": name.title(), "command": f"run {name}", "figures": figures, "notes": [f"{name} note"]}
    (folder / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")


def test_the_headline_reads_the_known_parts_and_lost_counts(tmp_path):
    part(tmp_path, "fuzz", **{"test cases generated": 2400, "requests answered by the server": 2650,
                              "server errors (5xx)": 0, "schema violations": 0, "schema disagreements": 0})  # fmt: skip
    part(tmp_path, "faults", **{"faults injected": 6, "faults survived": 6, "feedback events lost": 0})
    part(tmp_path, "state", **{"feedback acknowledged (threads test)": 40, "feedback found (threads test)": 39})
    part(tmp_path, "zeta", **{"calls_by_tool": {"recommend": 3, "search_items": 1}})
    text = render(*load_parts(tmp_path))
    assert "| generated requests tried (test cases / requests the server answered) | 2,400 / 2,650 |" in text
    assert "| faults injected / survived | 6 / 6 |" in text
    assert "missing: no `overload` part" in text
    # 0 lost in faults, 40 acknowledged - 39 found in state: 1 lost, with where it came from.
    assert "| items and events lost | 1 (" in text
    assert "feedback acknowledged (threads test) − found = 1" in text
    assert "recommend: 3, search_items: 1" in text
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads == ["## Headline", "## Fuzz", "## Faults", "## State", "## Zeta"]
    assert "Missing parts: `overload`, `tool_loop`" in text


def test_a_part_without_a_headline_figure_is_named_and_a_bad_file_reported(tmp_path):
    part(tmp_path, "overload", **{"requests shed": 30})
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    parts, problems = load_parts(tmp_path)
    assert set(parts) == {"overload"}
    assert len(problems) == 2
    text = render(parts, problems)
    assert "missing: `overload` has no 'requests sent', 'accepted p95 s'" in text
    assert "Unreadable: broken.json: not readable JSON" in text
    assert "items and events lost | missing: no part counts them" in text


def test_write_part_only_when_asked_and_render_only_writes_the_report(tmp_path, monkeypatch):
    monkeypatch.delenv(OUT_ENV, raising=False)
    write_part("fuzz", title="t", command="c", figures={"a": 1}, notes=[])
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv(OUT_ENV, str(tmp_path / "parts"))
    write_part("fuzz", title="Fuzzing", command="c", figures={"test cases generated": 5}, notes=["n"])
    saved = json.loads((tmp_path / "parts" / "fuzz.json").read_text())
    assert saved["figures"] == {"test cases generated": 5}
    report = tmp_path / "docs" / "reliability.md"
    assert main(["--render-only", "--results", str(tmp_path / "parts"), "--out", str(report)]) == 0
    assert "## Fuzzing" in report.read_text()
