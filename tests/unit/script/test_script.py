"""Scripted conversation tests: the YAML format, the runner over a real embedded store (hashing vectors) with the
fake LLM, the failure report, and `scenebridge script run` exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from scenebridge.errors import UsageError
from scenebridge.script import assert_script, load_script, run_script, run_scripts
from tests.unit.turn_fixtures import ITEMS

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cat") / "items.csv"
    pd.DataFrame(ITEMS, columns=["item_id", "scene", "title", "category"]).to_csv(path, index=False)
    return path


def write(tmp_path: Path, catalogue: Path, turns: list[dict], **meta) -> Path:
    path = tmp_path / f"{meta.pop('name', 'conv')}.yaml"
    body = {"catalogue": str(catalogue), "embedder": "hashing", "k": 5, **meta, "turns": turns}
    path.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
    return path


GOOD = [
    {"say": "watercolor paper and pens for the office, but no printer ink",
     "llm_reply": {"topics": ["watercolor", "pens"], "scene": "office", "exclusions": ["printer ink"]},
     "expect": {"scene": "office", "parse_source": "llm", "llm_calls": 1, "exclude": ["o1", "o2", "/toner/"],
                "summary": {"scene": "office", "exclusions_contain": ["printer ink"], "topics_contain": ["water"]},
                "include_any": ["/watercolor/"]}},
    {"say": "not paper", "expect": {"parse_source": "refinement", "llm_calls": 0, "exclude": ["/paper/"],
                                    "refinements_contain": ["exclusion added: paper"]}},
    {"say": "more like the second one", "expect": {"refinements_contain": ["more like item 2"]}},
    {"say": "cheaper", "expect": {"notes_contain": ["no prices"]}},
    {"say": "now show me art supplies", "llm_reply": {"topics": ["watercolor"], "scene": "art", "exclusions": []},
     "expect": {"scene": "art", "refinements_contain": ["scene changed: office -> art"]}},
]  # fmt: skip


def test_a_good_script_passes(tmp_path, catalogue):
    report = assert_script(write(tmp_path, catalogue, GOOD, user="u1"))
    assert report.ok
    assert report.turns == 5
    assert report.format().startswith("PASS ")
    assert len(report.transcript) == 5
    assert "scene art" in report.transcript[-1]


def test_failures_name_the_turn_the_expectation_and_what_came(tmp_path, catalogue):
    turns = [
        {"say": "printer ink for the office", "expect": {"scene": "art", "include": ["a9", "/stapler/"],
                                                          "exclude": ["/ink|toner/"], "llm_calls": 0}},
        {"say": "not toner", "expect": {"error": "unknown scene"}},
    ]  # fmt: skip
    report = run_script(write(tmp_path, catalogue, turns))
    assert not report.ok
    checks = {(f.turn, f.check) for f in report.failures}
    assert {(1, "scene"), (1, "include a9"), (1, "include /stapler/"), (1, "exclude /ink|toner/"),
            (1, "llm_calls"), (2, "error")} <= checks  # fmt: skip
    text = report.format()
    assert text.startswith("FAIL ")
    assert 'turn 1 "printer ink for the office": exclude /ink|toner/: expected no item matching it; came o' in text
    assert "turn 2" in text
    assert "an error containing 'unknown scene'" in text
    with pytest.raises(AssertionError, match="include a9"):
        assert_script(write(tmp_path, catalogue, turns))


def test_errors_tools_and_a_broken_llm(tmp_path, catalogue):
    turns = [
        {"say": "office pens", "scene": "garden", "expect": {"error": "unknown scene 'garden'"}},
        {"say": "pens for the office", "llm_reply": ["{not json", "still not json"],
         "expect": {"parse_source": "fallback", "llm_calls": 2, "scene": "office"}},
        {"say": "pens", "user": "someone-else", "expect": {"error": "belongs to another user"}},
        {"tool": "record_feedback", "args": {"user_id": "u1", "item_id": "o4", "kind": "dislike"},
         "expect": {"min_items": 0}},
        {"tool": "recommend", "args": {"statement": "gel pens for the office", "user_id": "u1"},
         "expect": {"scene": "office", "exclude": ["o4"]}},
        {"tool": "rerank", "args": {"scene": "office", "item_ids": []}, "expect": {"error": "invalid_arguments"}},
        {"tool": "rerank", "args": {"scene": "office", "item_ids": ["o3", "o4", "a1"], "user_id": "u1"},
         "expect": {"include": ["o3"], "exclude": ["o4", "a1"]}},
        {"say": "stapler", "new_session": True, "scene": "office", "expect": {"include": ["o9"]}},
    ]  # fmt: skip
    report = run_script(write(tmp_path, catalogue, turns, user="u1"))
    assert report.ok, report.format()


def test_explanations_from_a_lying_llm_are_replaced_and_still_grounded(tmp_path, catalogue):
    lie = {"explanations": [{"item_id": "o4", "text": "Acme Corp's 99 best pens, like o1 and toner"}]}
    turns = [{"say": "gel pens for the office", "scene": "office",
              "llm_reply": [{"topics": ["gel pens"], "scene": "office", "exclusions": []}, lie],
              "expect": {"llm_calls": 2, "grounded": True, "include": ["o4"]}}]  # fmt: skip
    report = run_script(write(tmp_path, catalogue, turns, explain="llm"))
    assert report.ok, report.format()


def test_a_crash_in_a_turn_is_a_failure_not_the_end(tmp_path, catalogue, monkeypatch):
    from scenebridge.agent.turn import Recommender

    real = Recommender.turn

    def flaky(self, statement, **kwargs):
        if statement == "boom":
            raise RuntimeError("a bug")
        return real(self, statement, **kwargs)

    monkeypatch.setattr(Recommender, "turn", flaky)
    turns = [{"say": "boom", "expect": {"error": "a bug"}}, {"say": "stapler", "scene": "office"}]
    report = run_script(write(tmp_path, catalogue, turns))
    assert [(f.turn, f.check) for f in report.failures] == [(1, "crash")]
    assert "RuntimeError: a bug" in report.failures[0].got


def test_profiles_seed_the_cross_scene_history(tmp_path, catalogue):
    turns = [{"say": "something for the office", "scene": "office", "expect": {"min_items": 5}}]
    report = run_script(write(tmp_path, catalogue, turns, user="u7", profiles={"u7": ["a1", "a2"]}))
    assert report.ok, report.format()


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("turns: []\ncatalogue: x", "turns: List should have at least 1 item"),
        ("catalogue: x\nturns:\n  - say: hi\n    tool: rerank\n", "exactly one of 'say'"),
        ("catalogue: x\nturns:\n  - say: hi\n    expect: {colour: red}\n", "turns.0.expect.colour: Extra inputs"),
        ("catalogue: x\nturns:\n  - say: hi\n    expect: {include: ['/([/']}\n", "bad regular expression"),
        ("catalogue: x\nturns: [", "not valid YAML"),
        ("- just a list", "a YAML mapping"),
    ],
)
def test_bad_script_files_are_one_clear_line(tmp_path, body, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        load_script(path)
    assert needle in str(info.value)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_a_missing_catalogue_is_a_clear_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("catalogue: nowhere\nturns:\n  - say: hi\n", encoding="utf-8")
    with pytest.raises(UsageError, match="no catalogue at"):
        run_scripts([path])


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    from scenebridge.cli import main

    monkeypatch.setattr(sys, "argv", ["scenebridge", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_exit_codes(tmp_path, catalogue, monkeypatch, capsys):
    good = write(tmp_path, catalogue, GOOD, name="good", user="u1")
    bad_turns = [{"say": "printer ink for the office", "expect": {"exclude": ["/ink/"]}}]
    failing = write(tmp_path, catalogue, bad_turns, name="failing")
    broken = tmp_path / "broken.yaml"
    broken.write_text("catalogue: x\n", encoding="utf-8")
    code, out, _ = _cli(monkeypatch, capsys, "script", "run", str(good))
    assert code == 0
    assert "1/1 scripts passed" in out
    code, out, _ = _cli(monkeypatch, capsys, "script", "run", str(good), str(failing))
    assert code == 1
    assert "FAIL" in out
    assert 'turn 1 "printer ink for the office": exclude /ink/' in out
    code, out, err = _cli(monkeypatch, capsys, "script", "run", str(good), str(broken))
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [f"error: {broken}: turns: Field required"]


@pytest.mark.parametrize("args", [["script", "run"], ["serve"], ["forget"]])
def test_help_of_the_ops_commands_imports_nothing_heavy(args):
    import subprocess

    code = (
        "import sys; sys.argv=['scenebridge', *sys.argv[1:], '--help'];"
        "from scenebridge.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "heavy = [m for m in ('torch', 'chromadb', 'llama_cpp', 'fastapi', 'uvicorn', 'pandas', 'httpx')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
