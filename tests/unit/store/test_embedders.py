"""The embedder registry: built-in specs and their model ids, a plugin's embedder, the errors. (The OpenAI-compatible
embedder against a real server on 127.0.0.1 is in tests/integration/test_openai_endpoints.py.)"""

import pytest

from scenebridge.errors import UsageError
from scenebridge.plugins import PLUGINS, hookimpl
from scenebridge.store.embed import EMBEDDERS, HashingEmbedder, cached_embedder, get_embedder

pytestmark = pytest.mark.unit


def test_registry_specs():
    assert get_embedder("hashing:32").dim == 32
    with pytest.raises(UsageError, match="unknown embedder 'bert'; choose one of: use-multilingual, hashing, minilm"):
        get_embedder("bert")
    with pytest.raises(UsageError, match="st needs a model folder"):
        get_embedder("st")
    with pytest.raises(UsageError, match="not a sentence-transformers model folder"):
        get_embedder("st:/nonexistent")
    with pytest.raises(UsageError, match="hashing takes a dimension"):
        get_embedder("hashing:big")


def test_registry_builds_todays_model_ids(tmp_path):
    # A store records its embedder's model id: the registry must build exactly the ids stores were built with.
    assert get_embedder("hashing").model_id == "hashing-256"
    assert get_embedder("hashing:").model_id == "hashing-256"
    assert get_embedder("hashing:32", base_url=None, api_key=None).model_id == "hashing-32"
    assert get_embedder("hashing", base_url="http://unused").model_id == "hashing-256"  # options are openai's
    # With its dimension given, the openai embedder asks the endpoint nothing until it embeds.
    openai = get_embedder("openai:tiny-embed", base_url="http://127.0.0.1:9/v1", api_key="k", dim=48)
    assert openai.model_id == "openai-tiny-embed-48"
    cached = cached_embedder("hashing:48", cache=tmp_path / "vec.sqlite", base_url=None)
    assert (cached.model_id, cached.dim) == ("hashing-48", 48)
    with pytest.raises(UsageError, match="embedder 'minilm' takes no argument; give 'minilm', not 'minilm:big'"):
        get_embedder("minilm:big")


class _Triple:
    """A plugin's embedder: three hashing dimensions per spec number."""

    @hookimpl
    def register_embedders(self, register):
        register("triple", lambda arg="8", **options: HashingEmbedder(3 * int(arg)), help="triple[:N]")


def test_a_plugin_embedder_is_built_like_a_builtin(tmp_path):
    PLUGINS.register(_Triple(), "triple-plugin")
    try:
        assert get_embedder("triple:4").dim == 12
        assert cached_embedder("triple", cache=tmp_path / "vec.sqlite").model_id == "hashing-24"
        assert EMBEDDERS.names()[-1] == "triple"
        with pytest.raises(UsageError, match=r"choose one of: use-multilingual, hashing, minilm, st, openai, triple$"):
            get_embedder("bert")
    finally:
        PLUGINS.unregister("triple-plugin")
    assert "triple" not in EMBEDDERS
