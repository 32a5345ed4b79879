"""The embedder registry (built-ins and a plugin's) and the OpenAI-compatible embedder against a real HTTP server
on 127.0.0.1."""

import json
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import numpy as np
import pytest

from scenebridge.errors import EmbedderError, UsageError
from scenebridge.plugins import PLUGINS, hookimpl
from scenebridge.store.embed import EMBEDDERS, HashingEmbedder, OpenAIEmbedder, cached_embedder, get_embedder
from tests.helpers import send_json, serve

pytestmark = pytest.mark.unit


class _Handler(BaseHTTPRequestHandler):
    reference = HashingEmbedder(48)
    calls: ClassVar[list[int]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/embeddings" or body.get("model") != "tiny-embed":
            self.send_response(404)
            self.end_headers()
            return
        texts = body["input"]
        type(self).calls.append(len(texts))
        vecs = self.reference.embed(texts) * 3.0  # unnormalised on purpose
        # answer out of order: the client must sort by index
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vecs)][::-1]
        payload = {
            "object": "list",
            "data": data,
            "model": "tiny-embed",
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
        send_json(self, payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    with serve(_Handler) as url:
        yield url


def test_openai_compatible_endpoint_batches_sorts_and_normalises(server):
    emb = OpenAIEmbedder("tiny-embed", base_url=server, api_key="k", batch_size=2)
    assert emb.dim == 48
    assert emb.model_id == "openai-tiny-embed-48"
    _Handler.calls.clear()
    texts = ["watercolor paint", "gel pen", "desk lamp", "水彩"]
    vecs = emb.embed(texts)
    assert _Handler.calls == [2, 2]
    assert np.allclose(vecs, HashingEmbedder(48).embed(texts), atol=1e-6)


def test_openai_endpoint_errors_are_clear(server):
    with pytest.raises(EmbedderError, match=r"the embeddings endpoint .* failed"):
        OpenAIEmbedder("no-such-model", base_url=server, api_key="k")


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


def test_registry_builds_todays_model_ids(server, tmp_path):
    # A store records its embedder's model id: the registry must build exactly the ids stores were built with.
    assert get_embedder("hashing").model_id == "hashing-256"
    assert get_embedder("hashing:").model_id == "hashing-256"
    assert get_embedder("hashing:32", base_url=None, api_key=None).model_id == "hashing-32"
    assert get_embedder("hashing", base_url="http://unused").model_id == "hashing-256"  # options are openai's
    assert get_embedder("openai:tiny-embed", base_url=server, api_key="k").model_id == "openai-tiny-embed-48"
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
