"""The OpenAI-compatible backend against misbehaving servers, in-process (httpx.MockTransport: no socket).

The same faults over a real socket, through a real ``scenebridge serve``, are in tests/integration/test_faults_llm.py.
"""

import json
import time

import httpx
import pytest

from scenebridge.errors import LLMError
from scenebridge.llm.openai_compat import OpenAICompatLLM

pytestmark = pytest.mark.unit

MESSAGES = [{"role": "user", "content": "hi"}]


def _llm(handler, timeout=5.0):
    llm = OpenAICompatLLM("http://llm.test/v1", model="m", timeout=timeout)
    llm.client = llm.client.with_options(http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    return llm


def _completion(content):
    message = {"role": "assistant", "content": content}
    choice = {"index": 0, "finish_reason": "stop", "message": message}
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [choice]}


def test_a_good_answer_is_its_content():
    assert _llm(lambda r: httpx.Response(200, json=_completion('{"a": 1}'))).complete(MESSAGES) == '{"a": 1}'


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>502 Bad Gateway</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, content=b'{"choices": [{"mess', headers={"content-type": "application/json"}),
        httpx.Response(200, json={"choices": []}),
        httpx.Response(200, json={"unrelated": True}),
    ],
    ids=["html", "cut-json", "no-choices", "not-a-completion"],
)
def test_garbage_is_one_llm_error(response):
    with pytest.raises(LLMError, match="answered something that is not a chat completion"):
        _llm(lambda r: response).complete(MESSAGES)


def test_a_dropped_connection_is_named_as_such():
    def drop(request):
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    with pytest.raises(LLMError, match="broke mid-answer"):
        _llm(drop).complete(MESSAGES)


def test_an_unreachable_server_keeps_its_message():
    def refuse(request):
        raise httpx.ConnectError("[Errno 111] Connection refused")

    with pytest.raises(LLMError, match="cannot reach the LLM"):
        _llm(refuse).complete(MESSAGES)


def test_a_stall_ends_within_the_timeout_without_a_retry():
    calls = []

    def stall(request):
        calls.append(1)
        time.sleep(3)  # the transport is in-process: no read timeout can interrupt it, only the call's deadline
        return httpx.Response(200, json=_completion("{}"))

    start = time.perf_counter()
    with pytest.raises(LLMError, match=r"timed out \(no complete answer in 0.4 s\)"):
        _llm(stall, timeout=0.4).complete(MESSAGES)
    assert time.perf_counter() - start < 1.0
    time.sleep(0.1)
    assert len(calls) == 1


def test_a_server_error_is_not_retried():
    calls = []

    def fail(request):
        calls.append(json.loads(request.content)["model"])
        return httpx.Response(500, json={"error": {"message": "boom"}})

    with pytest.raises(LLMError, match="failed"):
        _llm(fail).complete(MESSAGES)
    assert calls == ["m"]
