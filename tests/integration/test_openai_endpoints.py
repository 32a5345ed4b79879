"""The OpenAI-compatible LLM backend and embedder against real HTTP servers on 127.0.0.1 (a socket: integration)."""

import json
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import numpy as np
import pytest

from scenebridge.agent import parse_interests
from scenebridge.errors import EmbedderError, LLMError
from scenebridge.llm import get_llm
from scenebridge.store.embed import HashingEmbedder, OpenAIEmbedder, get_embedder
from tests.helpers import send_json, serve

pytestmark = pytest.mark.integration


class _Chat(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict]] = []
    answer: ClassVar[str] = "{}"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        payload = {
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": type(self).answer}}],
        }  # fmt: skip
        send_json(self, payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server():
    with serve(_Chat) as url:
        yield url


def test_openai_compatible_backend_sends_json_object_with_schema(chat_server):
    _Chat.bodies.clear()
    _Chat.answer = json.dumps({"topics": ["gel pens"], "scene": "office", "exclusions": ["black ink"]})
    llm = get_llm(chat_server, model="tiny")
    res = parse_interests("gel pens for the office, no black ink", llm, scenes=["office", "art"])
    assert res.source == "llm"
    assert res.summary.scene == "office"
    body = _Chat.bodies[0]
    assert body["model"] == "tiny"
    assert body["temperature"] == 0
    assert body["response_format"]["type"] == "json_object"  # not json_schema: llama.cpp's server rejects it
    assert body["response_format"]["schema"]["title"] == "Interests"
    assert body["max_tokens"] == 160


def test_unreachable_server_is_an_llm_error():
    llm = get_llm("http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(LLMError, match="cannot reach the LLM"):
        llm.complete([{"role": "user", "content": "hi"}])


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


def test_openai_spec_through_the_registry(server):
    emb = get_embedder("openai:tiny-embed", base_url=server, api_key="k")
    assert (emb.model_id, emb.dim) == ("openai-tiny-embed-48", 48)
