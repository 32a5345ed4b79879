"""Plugins: one registry shape, the built-ins registered as plugins, and a real plugin package installed from
tests/fixtures/plugin_pkg and used from the CLI without touching src/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scenebridge.errors import UsageError
from scenebridge.llm import get_llm
from scenebridge.llm.models import MODELS
from scenebridge.llm.registry import LLMS
from scenebridge.plugins import DEFAULT_PLUGINS, PLUGINS, Plugins, Registry, hookimpl
from scenebridge.rerank.content import ContentReranker
from scenebridge.rerank.registry import RERANKERS, get_reranker
from scenebridge.store.embed import EMBEDDERS, HashingEmbedder, get_embedder
from scenebridge.tools.definitions import TOOLS
from scenebridge.tools.registry import TOOL_REGISTRY, get_tool, registered_tools

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_PKG = ROOT / "tests" / "fixtures" / "plugin_pkg"
CATALOGUE = ROOT / "examples" / "catalogues" / "art-office-mini"


@pytest.fixture
def demo():
    """The fixture package's module registered at run time (as a test double is, like llm's MockModel)."""
    sys.path.insert(0, str(PLUGIN_PKG))
    try:
        import scenebridge_demo

        PLUGINS.register(scenebridge_demo, "demo")
        try:
            yield scenebridge_demo
        finally:
            PLUGINS.unregister("demo")
    finally:
        sys.path.remove(str(PLUGIN_PKG))


class _Widgets:
    """A plugin object: hooks as methods."""

    @hookimpl
    def register_tools(self, register):
        register("plain", lambda: "plain widget", help="no argument")
        register("sized", lambda arg="1", **opts: f"widget {arg} {opts}", help="sized[:N]")


def test_one_registry_shape():
    plugins = Plugins(defaults=(), group=None)
    plugins.register(_Widgets(), "widgets")
    reg: Registry[str] = Registry("widget", "register_tools", plugins=plugins)
    reg.register("direct", lambda: "direct widget", help="registered outside a plugin")
    assert reg.names() == ["plain", "sized", "direct"]
    assert [(e.name, e.plugin) for e in reg.entries()][:2] == [("plain", "widgets"), ("sized", "widgets")]
    assert reg.get("plain") == "plain widget"
    assert reg.create("sized:3", colour="red") == "widget 3 {'colour': 'red'}"
    assert reg.create("sized") == "widget 1 {}"
    assert "direct" in reg
    assert list(reg) == reg.names()
    with pytest.raises(UsageError, match=r"^unknown widget 'nope:1'; choose one of: plain, sized, direct$"):
        reg.create("nope:1")
    with pytest.raises(UsageError, match="widget 'plain' takes no argument; give 'plain', not 'plain:2'"):
        reg.create("plain:2")
    # A plugin added later reloads the registry; one that takes a name already taken names both.
    plugins.register(_Widgets(), "copycat")
    clash = "plugin 'copycat' registers widget 'plain', which 'widgets' already registered"
    with pytest.raises(UsageError, match=clash):
        reg.names()
    plugins.unregister("copycat")
    assert reg.names() == ["plain", "sized", "direct"]


def test_builtins_register_as_plugins_in_order():
    assert PLUGINS.names()[: len(DEFAULT_PLUGINS)] == list(DEFAULT_PLUGINS)
    assert EMBEDDERS.names()[:5] == ["use-multilingual", "hashing", "minilm", "st", "openai"]
    assert {e.plugin for e in EMBEDDERS.entries()[:5]} == {"scenebridge.store.embed"}
    assert LLMS.names()[: 1 + len(MODELS)] == ["fake", *MODELS]
    assert RERANKERS.names()[:2] == ["content", "fusion"]
    assert TOOL_REGISTRY.names()[: len(TOOLS)] == [t.name for t in TOOLS]
    assert registered_tools()[: len(TOOLS)] == TOOLS
    assert get_tool("recommend") is next(t for t in TOOLS if t.name == "recommend")
    assert all(e.help for reg in (EMBEDDERS, LLMS, RERANKERS, TOOL_REGISTRY) for e in reg.entries())


def test_builtin_rerankers(tmp_path):
    store = type("Store", (), {"embedder": HashingEmbedder(16)})()
    assert isinstance(get_reranker("content", store=store), ContentReranker)
    with pytest.raises(UsageError, match="the content reranker needs the item store"):
        get_reranker("content")
    with pytest.raises(UsageError, match="fusion needs a trained folder: fusion:DIR"):
        get_reranker("fusion")
    with pytest.raises(UsageError, match=r"unknown reranker 'bm25'; choose one of: content, fusion"):
        get_reranker("bm25")
    with pytest.raises(UsageError):  # a bare folder means fusion:DIR; an empty one is no trained reranker
        get_reranker(tmp_path)


def test_unknown_names_list_the_plugins_names(demo):
    with pytest.raises(UsageError, match=r"choose one of: use-multilingual, hashing, minilm, st, openai, demo-embed$"):
        get_embedder("nope")
    with pytest.raises(UsageError, match=r"unknown LLM 'gpt-9'; give one of: qwen2.5-coder-1.5b.*, 'fake', or a "
                       r"plugin's backend: demo-echo$"):  # fmt: skip
        get_llm("gpt-9")
    assert get_embedder("demo-embed:32").model_id == "demo-embed-32"
    assert get_llm("demo-echo:art").name == "demo-echo:art"
    assert EMBEDDERS.entry("demo-embed").plugin == "demo"


def test_without_the_plugin_the_names_are_todays():
    assert "demo-embed" not in EMBEDDERS
    with pytest.raises(UsageError, match=r"or 'fake'$"):
        get_llm("gpt-9")


class _Raises:
    @hookimpl
    def register_embedders(self, register):
        raise ValueError("no licence key\nsecond line")


def test_a_plugin_failing_in_its_hook_is_named():
    PLUGINS.register(_Raises(), "raiser")
    try:
        named = r"^the scenebridge plugin 'raiser' is broken \(ValueError: no licence key\); fix or uninstall it$"
        with pytest.raises(UsageError, match=named):
            get_embedder("hashing")
    finally:
        PLUGINS.unregister("raiser")
    assert get_embedder("hashing").model_id == "hashing-256"


def _fake_dist(site: Path, module: str, code: str) -> None:
    """An installed distribution with one scenebridge.plugins entry point, as pip would leave it."""
    (site / f"{module}.py").write_text(code, encoding="utf-8")
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[scenebridge.plugins]\n{module.split('_')[-1]} = {module}\n")


def test_a_broken_entry_point_is_one_clear_error(tmp_path, monkeypatch):
    broken, typo = tmp_path / "broken", tmp_path / "typo"
    broken.mkdir()
    typo.mkdir()
    _fake_dist(broken, "sb_broken", "import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(broken))
    named = (
        r"^the scenebridge plugin 'broken' \(package sb-broken\) is broken "
        r"\(ModuleNotFoundError: No module named 'no_such_module_anywhere'\); fix or uninstall it$"
    )
    with pytest.raises(UsageError, match=named):
        _ = Plugins(defaults=()).manager
    monkeypatch.syspath_prepend(str(typo))  # a hook name that is none of ours (a typo) is refused, not ignored
    (broken / "sb_broken.py").write_text("")
    _fake_dist(typo, "sb_typo", "from scenebridge.plugins import hookimpl\n\n@hookimpl\n"
               "def register_embeders(register):\n    pass\n")  # fmt: skip
    with pytest.raises(UsageError, match=r"plugin 'typo' \(package sb-typo\) is broken \(PluginValidationError"):
        _ = Plugins(defaults=()).manager


def _cli(*args: str, pythonpath: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(pythonpath), os.environ.get("PYTHONPATH", "")]),
        "SCENEBRIDGE_HOME": str(home / "home"),
        "SCENEBRIDGE_CACHE": str(home / "cache"),
    }
    return subprocess.run([sys.executable, "-m", "scenebridge.cli", *args], capture_output=True, text=True,
                          check=False, env=env, cwd=ROOT, timeout=300)  # fmt: skip


def test_broken_plugin_from_the_cli_is_one_line_and_help_does_not_load_it(tmp_path):
    _fake_dist(tmp_path, "sb_broken", "raise RuntimeError('boom')\n")
    helped = _cli("--help", pythonpath=tmp_path, home=tmp_path)
    assert helped.returncode == 0, helped.stderr
    done = _cli("search", "gel pens", "--store", str(tmp_path / "S"), "--embedder", "hashing",
                pythonpath=tmp_path, home=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: the scenebridge plugin 'broken' (package sb-broken) is broken (RuntimeError: boom); fix or uninstall it"
    ]


def test_an_installed_plugin_package_adds_an_llm_and_an_embedder_to_the_cli(tmp_path):
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
    src = shutil.copytree(PLUGIN_PKG, tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    built = subprocess.run([*pip, "--target", str(site), str(src)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    assert (site / "scenebridge_demo-0.1.0.dist-info" / "entry_points.txt").is_file()

    store = str(tmp_path / "S")
    indexed = _cli("index", str(CATALOGUE), "--store", store, "--embedder", "demo-embed:64", pythonpath=site,
                   home=tmp_path)  # fmt: skip
    assert indexed.returncode == 0, indexed.stderr
    done = _cli("recommend", "gel pens", "--store", store, "--embedder", "demo-embed:64", "--llm", "demo-echo",
                "--scene", "office", "--json", pythonpath=site, home=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["parse_source"] == "llm"  # the plugin's backend answered the parse prompt, and validly
    assert [t["name"] for t in result["summary"]["topics"]] == ["demo echo gel pens"]  # its fixed answer
    assert result["items"]
    assert {item["scene"] for item in result["items"]} == {"office"}
    # The store holds the plugin embedder's vectors: another embedder is refused, naming them.
    other = _cli("search", "gel pens", "--store", store, "--embedder", "hashing", pythonpath=site, home=tmp_path)
    assert other.returncode == 2
    assert "demo-embed-64" in other.stderr
    # `scenebridge plugins` names the third-party plugin and what it registered, beside the built-ins.
    listed = _cli("plugins", "--json", pythonpath=site, home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    registries = json.loads(listed.stdout)
    assert "demo" in registries["plugins"]
    assert {"name": "demo-echo", "plugin": "demo"}.items() <= next(
        r for r in registries["llm"] if r["name"] == "demo-echo"
    ).items()
    assert "demo-embed" in [r["name"] for r in registries["embedder"]]
    assert registries["embedder"][0]["name"] == "use-multilingual"  # built-ins first
