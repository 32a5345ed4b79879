"""The CLI package: options generated from the settings fields, a quick --help, and one line for a missing extra."""

import ast
import os
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from scenebridge.cli import options
from scenebridge.errors import UsageError
from scenebridge.extras import available, missing, require
from scenebridge.settings import MAX_K, AgentSettings, ApiSettings, LLMSettings, PrivacySettings, StoreSettings

pytestmark = pytest.mark.unit

CLI = Path(options.__file__).parent
HEAVY = ("pandas", "numpy", "torch", "chromadb", "fastapi", "mcp", "langchain_core", "matplotlib", "scenebridge.agent")

# Each shared option, the setting it stands for and its flag.
SETTING_OPTIONS = [
    (options.StoreOpt, StoreSettings, "path", "--store"),
    (options.UrlOpt, StoreSettings, "url", "--url"),
    (options.EmbedderOpt, StoreSettings, "embedder", "--embedder"),
    (options.BatchSizeOpt, StoreSettings, "batch_size", "--batch-size"),
    (options.RerankerOpt, AgentSettings, "reranker", "--reranker"),
    (options.LlmOpt, LLMSettings, "spec", "--llm"),
    (options.ProfilesOpt, AgentSettings, "profiles", "--profiles"),
    (options.ExplainOpt, AgentSettings, "explain", "--explain"),
    (options.KOpt, AgentSettings, "k", "-k"),
    (options.RedactOpt, PrivacySettings, "redact", "--redact"),
    (options.TokenOpt, ApiSettings, "token", "--token"),
]


def _env(tmp_path):
    return {**os.environ, "SCENEBRIDGE_CACHE": str(tmp_path / "cache"), "SCENEBRIDGE_CONFIG": str(tmp_path / "x.toml")}


@pytest.mark.parametrize(("alias", "model", "field", "flag"), SETTING_OPTIONS, ids=[o[3] for o in SETTING_OPTIONS])
def test_option_is_generated_from_its_setting(alias, model, field, flag):
    given, option = typing.get_args(alias)
    wanted = options.field_type(model, field)
    # str | None for a str setting; a Literal or an Optional setting is a str | None option as well.
    base = [a for a in typing.get_args(given) if a is not type(None)]
    assert len(base) == 1
    if typing.get_origin(wanted) is typing.Literal:
        assert base[0] is str
    else:
        assert base[0] in (wanted, *typing.get_args(wanted)), (given, wanted)
    # In an Annotated option typer takes the first flag as the `default` argument.
    assert flag in (option.default, *option.param_decls)
    description = model.model_fields[field].description.rstrip(".")
    assert option.help.startswith(description)
    assert f"[env {options.env_var(model, field)}]" in option.help
    assert options.env_var(model, field) == f"SCENEBRIDGE_{model.table.upper()}_{field.upper()}"


def test_limits_come_from_the_settings():
    assert options.field_limits(AgentSettings, "k") == (1, MAX_K)
    assert f"(1-{MAX_K})" in typing.get_args(options.KOpt)[1].help
    assert "(1-5461)" in typing.get_args(options.BatchSizeOpt)[1].help
    assert options.field_limits(StoreSettings, "url") == (None, None)


def test_no_second_k_limit_in_the_cli():
    for path in CLI.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"max=50\b|le=50\b|1-50\b", text), path.name


def test_settings_from_maps_every_option(tmp_path, monkeypatch):
    monkeypatch.setenv("SCENEBRIDGE_CONFIG", str(tmp_path / "none.toml"))
    cfg = options.settings_from(tmp_path / "s", None, "hashing", [tmp_path / "r"], "none", tmp_path / "p.sqlite",
                                "llm", 3, "all", batch_size=7, token="t")  # fmt: skip
    assert (cfg.store.path, cfg.store.embedder, cfg.store.batch_size) == (tmp_path / "s", "hashing", 7)
    assert (cfg.agent.reranker, cfg.agent.profiles, cfg.agent.explain, cfg.agent.k) == (
        [tmp_path / "r"], tmp_path / "p.sqlite", "llm", 3)  # fmt: skip
    assert (cfg.llm.spec, cfg.privacy.redact, cfg.api.token) == ("none", "all", "t")
    with pytest.raises(UsageError, match=r"bad setting \[agent\] k: .*SCENEBRIDGE_AGENT_K"):
        options.settings_from(k=MAX_K + 1)


def test_one_root_assembles_the_commands():
    """No submodule imports the root (cli/app.py) or registers itself into it; no import below the top."""
    for path in CLI.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        if path.name not in ("__init__.py", "__main__.py"):
            assert "scenebridge.cli.app" not in imported, path.name
        assert "noqa: E402" not in path.read_text(encoding="utf-8"), path.name
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path.name


def test_help_stays_light(tmp_path):
    code = (
        "import sys\n"
        "sys.argv = ['scenebridge', '--help']\n"
        "from scenebridge.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "recommend" in proc.stdout
    assert proc.stderr.strip() == "[]", proc.stderr


# A CLI run with an extra's libraries made unimportable, as in a core-only install.
_BLOCKED = """
import importlib.abc, sys
BLOCK = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCK:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
sys.argv = ["scenebridge", *sys.argv[2:]]
from scenebridge.cli import main
main()
"""


@pytest.mark.parametrize(
    ("blocked", "args", "extra"),
    [
        ("fastapi,uvicorn", ["serve", "--store", "STORE"], "serve"),
        ("torch", ["train", "DATA", "-s", "a", "-t", "b", "-o", "OUT"], "train"),
        ("torch", ["recommend", "pens", "--llm", "none", "--reranker", "OUT"], "train"),
        ("mcp", ["mcp", "--store", "STORE"], "mcp"),
        ("llama_cpp", ["parse", "pens", "--llm", "MODEL.gguf"], "llama"),
    ],
)
def test_missing_extra_is_one_line_exit_2(blocked, args, extra, tiny_dataset, tmp_path):
    (tmp_path / "OUT").mkdir()
    (tmp_path / "MODEL.gguf").write_bytes(b"GGUF")
    if "--reranker" in args:  # a store first: the recommender opens it before the reranker
        store = str(tmp_path / "store")
        index = [sys.executable, "-m", "scenebridge.cli", "index", str(tiny_dataset), "--store", store,
                 "--embedder", "hashing"]  # fmt: skip
        subprocess.run(index, capture_output=True, check=True, env=_env(tmp_path))
        args = [*args, "--store", "STORE", "--embedder", "hashing"]
    subst = {"STORE": str(tmp_path / "store"), "DATA": str(tiny_dataset), "OUT": str(tmp_path / "OUT"),
             "MODEL.gguf": str(tmp_path / "MODEL.gguf")}  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", _BLOCKED, blocked, *[subst.get(a, a) for a in args]],
                          capture_output=True, text=True, env=_env(tmp_path))  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert lines[0].endswith(f"needs the '{extra}' extra: pip install 'scenebridge[{extra}]'"), lines[0]


def test_require():
    assert require("serve", "json").dumps([]) == "[]"
    wanted = r"^the HTTP API .* needs the 'serve' extra: pip install 'scenebridge\[serve\]'$"
    with pytest.raises(UsageError, match=wanted):
        require("serve", "no_such_module_xyz")
    assert str(missing("plots", "plots")) == "plots needs the 'plots' extra: pip install 'scenebridge[plots]'"
    assert available("json")
    assert not available("no_such_module_xyz")


def test_report_without_plots(monkeypatch, tmp_path):
    from scenebridge.eval import report

    monkeypatch.setattr(report, "available", lambda module: False)
    metrics = {"popular": {"ndcg@10": 0.1}}
    assert report.write_plots(metrics, tmp_path) == []
    meta = {"dataset": "d", "source": "a", "target": "b", "n_test_users": 1, "n_hidden_test_interactions": 1,
            "n_valid_users": 1, "n_target_items": 1, "n_train_interactions": 1, "seed": 0}  # fmt: skip
    report.write_report(metrics, meta, [], tmp_path / "report.md")
    assert "| popular |" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert not list(tmp_path.glob("*.png"))
