"""An OpenAI-compatible chat endpoint, `POST /v1/chat/completions`, served beside the page by `rag serve --openai`,
so chat front ends and SDKs that speak that API can ask the digests.

The last user message is the question and the turns before it its history (a follow-up is rewritten from them,
as in the page). The reply is the checked answer with its sources listed under it (`render.plain_text`), and
the citations also as a `citations` field. With `"stream": true` it comes as server-sent events, but whole and
at once: the checks may amend or decline what the model streams, and a streamed token cannot be taken back.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rag.errors import RagError
from rag.types import Answer
from ui import render

if TYPE_CHECKING:
    from ui.app import Backend

MODEL = "digest-rag"


def routes(backend: Backend) -> list[Any]:
    """The endpoint's routes, for the page's web app: the chat completions and the list of its one model."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    async def completions(request: Request) -> Any:
        try:
            body = await request.json()
        except ValueError:
            return _error("the body is not JSON")
        try:
            question, history = conversation(body)
            answer = await run_in_threadpool(backend.answer, question, history)
        except RagError as e:
            return _error(str(e))
        reply = completion(answer)
        if body.get("stream") is True:
            return StreamingResponse(events(reply), media_type="text/event-stream")
        return JSONResponse(reply)

    async def models(request: Request) -> Any:
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "digest-rag"}]})

    return [
        Route("/v1/chat/completions", completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]


def conversation(body: Any) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last message, a user's) and the (question, answer) turns before it.

    Raises:
        RagError: no messages, or the last one is not a user's text.
    """
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise RagError('"messages" must be a non-empty list of {"role", "content"} objects')
    turns = [(m.get("role"), _text(m.get("content"))) for m in messages if m.get("role") in ("user", "assistant")]
    if not turns or turns[-1][0] != "user" or not turns[-1][1].strip():
        raise RagError("the last message must be the user's question, as text")
    history, asked = [], ""
    for role, text in turns[:-1]:
        if role == "user":
            asked = text
        elif asked:
            history.append((asked, text))
            asked = ""
    return turns[-1][1], history


def completion(answer: Answer) -> dict:
    """A chat.completion object holding the answer, its sources under it, and its citations as a field."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": render.plain_text(answer)},
                "finish_reason": "stop",
            }
        ],
        "citations": render.citations_json(answer),
        "answerable": answer.answerable,
    }


def events(reply: dict) -> Iterator[str]:
    """The completion as server-sent chat.completion.chunk events: the role, the whole content, the stop."""
    content = reply["choices"][0]["message"]["content"]
    for delta, finish in (({"role": "assistant"}, None), ({"content": content}, None), ({}, "stop")):
        chunk = {
            "id": reply["id"],
            "object": "chat.completion.chunk",
            "created": reply["created"],
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def _text(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of parts ({"type": "text", "text": ...})."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _error(message: str) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=400)
