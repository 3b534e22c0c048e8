"""`rag serve --openai`: OpenAI's own client asks the digests through /v1/chat/completions, whole or streamed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import test_ui
from conftest import free_port
from test_ui import FakeAssistant

from rag.config import Config
from rag.errors import RagError
from ui.app import serve
from ui.openai_api import MODEL, conversation

indexed = test_ui.indexed  # the fixture: an index of the test corpus, answered by a fake assistant


@pytest.fixture
def server(indexed):
    config, assistant = indexed
    port = free_port()
    app = serve(config, port=port, block=False, assistant=assistant, openai=True)
    try:
        yield f"http://127.0.0.1:{port}", assistant
    finally:
        app.close()


def test_the_last_user_message_is_the_question_and_the_turns_before_it_its_history():
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "What is MOVA?"},
        {"role": "assistant", "content": "A video and audio model [1]."},
        {"role": "user", "content": [{"type": "text", "text": "How big is it?"}]},
    ]
    history = [("What is MOVA?", "A video and audio model [1].")]
    assert conversation({"messages": messages}) == ("How big is it?", history)
    for body in ({}, {"messages": []}, {"messages": "hi"}, {"messages": messages[:3]}, [1]):
        with pytest.raises(RagError):
            conversation(body)


def test_openais_client_gets_the_checked_answer_with_its_sources(server):
    from openai import OpenAI

    url, assistant = server
    client = OpenAI(base_url=f"{url}/v1", api_key="unused")
    asked = [
        {"role": "user", "content": "What is MOVA?"},
        {"role": "assistant", "content": "A model [1]."},
        {"role": "user", "content": "MOVA 用了多大的模型？"},
    ]
    reply = client.chat.completions.create(model=MODEL, messages=asked)  # type: ignore[arg-type]
    content = reply.choices[0].message.content or ""
    assert content.startswith("MOVA 使用 32B 参数的混合专家架构[1]。")
    assert "\n[1] hf-daily.md · 2026-02-10 · MOVA" in content  # its sources under it
    assert assistant.calls[-1] == ("MOVA 用了多大的模型？", [("What is MOVA?", "A model [1].")])
    assert reply.model_extra and reply.model_extra["citations"][0]["quote"] == "32B 参数的混合专家（MoE）架构"

    streamed = client.chat.completions.create(model=MODEL, messages=asked, stream=True)  # type: ignore[arg-type]
    assert "".join(chunk.choices[0].delta.content or "" for chunk in streamed) == content
    assert [m.id for m in client.models.list()] == [MODEL]


def test_a_malformed_request_gets_an_openai_style_error(server):
    url, _ = server
    for body in (b"not json", json.dumps({"messages": [{"role": "assistant", "content": "hi"}]}).encode()):
        request = urllib.request.Request(f"{url}/v1/chat/completions", body, {"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 400
        assert json.loads(refused.value.read())["error"]["type"] == "invalid_request_error"


def test_the_endpoint_is_served_only_when_asked_and_never_behind_a_login(indexed, monkeypatch):
    config, assistant = indexed
    port = free_port()
    app = serve(config, port=port, block=False, assistant=assistant)
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=30)
    finally:
        app.close()
    monkeypatch.setenv("RAG_UI_USER", "ann")
    monkeypatch.setenv("RAG_UI_PASSWORD", "pw")
    with pytest.raises(RagError, match="no login"):
        serve(Config(), port=free_port(), block=False, assistant=FakeAssistant(), openai=True)
