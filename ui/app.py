"""The chat page: streaming answers with linked citations, a sources panel, the digests to browse, settings, index
status and uploads."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from html import escape
from pathlib import Path
from typing import Any

from rag.answer import Assistant, Options
from rag.config import Config
from rag.errors import RagError
from rag.search import MAX_QUESTION_CHARS
from rag.types import Answer
from ui import openai_api, render, uploads
from ui.style import ASK_JS, COPY_JS, CSS, JS
from ui.warm import Warmup

logger = logging.getLogger(__name__)

EXAMPLES = [
    "MOVA 是什么模型？它用了多大参数量的架构？",
    "NanoQuant 能让多大的模型在 8GB 显存的 GPU 上运行？",
    "How much faster is Aster than existing methods for scientific discovery?",
    "What does MOVA generate, and is it open source?",
]
ALL_DIGESTS = "Ask within: all digests · 全部日报"
# One generation at a time per process: the models are not thread-safe; other requests wait in Gradio's queue.
MODEL = "model"
# Requests waiting at once; one more is told the queue is full (an endless queue is a way to exhaust the server).
QUEUE_SIZE = 64
# Shown in the chat while a question waits for the models the page is still loading.
WAITING = "loading the models; the first answer waits for them…"
UPLOADS_OFF = (
    "uploads are off: anyone reaching the page could change the shared index. Start the server with a login "
    "(RAG_UI_USER and RAG_UI_PASSWORD) or with `rag serve --uploads`"
)


class Backend:
    """The handlers behind the page; one per process, shared by every session."""

    def __init__(
        self,
        assistant: Assistant | Callable[[], Assistant],
        config: Config,
        uploads_dir: Path | None = None,
        allow_uploads: bool = False,
    ):
        self._assistant = None if callable(assistant) else assistant
        self._factory = assistant if callable(assistant) else None
        self.config = config
        self.uploads_dir = uploads_dir or uploads.default_dir(config)
        self.allow_uploads = allow_uploads
        self._lock = threading.Lock()
        # The models are not thread-safe. Gradio's queue runs the page's and the API's model events one at a time
        # (`MODEL`); they take this lock too, to exclude the OpenAI-compatible endpoint, which runs outside it.
        self.models = threading.Lock()
        self.warmup = Warmup()

    @property
    def assistant(self) -> Assistant:
        with self._lock:
            if self._assistant is None:
                assert self._factory is not None
                self._assistant = self._factory()
            return self._assistant

    def warm_up(self) -> threading.Thread:
        """Loads the models on a background thread (`ui.warm`); requests that use them wait until it ends."""
        return self.warmup.start(lambda: self.assistant)

    def models_status(self) -> str:
        """The page's line about the models (loading, ready), "" when no warm-up ran."""
        text = self.warmup.status()
        return f'<p class="rag-models">{escape(text)}</p>' if text else ""

    def _install(self, assistant: Assistant) -> Assistant:
        """Makes `assistant` the one the next requests use; a request under way keeps the one it took."""
        with self._lock:
            self._assistant = assistant
        return assistant

    def _serving(self, rerank: bool | None = None) -> Assistant:
        """The assistant one request uses from start to end: over the index generation current now
        (`_follow_index`), with the reranker when the request asks for it. Nothing of it is changed afterwards:
        a swap installs a new assistant for the requests that follow."""
        self._follow_index()
        assistant = self.assistant
        if rerank and assistant.retriever.reranker is None:
            from rag.pipeline import make_reranker

            # Loaded once, by the first request that asks for it. The judge that picks quotes is the
            # configured reranker: one loaded copy serves both.
            reranker = assistant.judge or make_reranker(self.config)
            assistant = self._install(assistant.using(assistant.retriever.with_reranker(reranker)))
        return assistant

    @staticmethod
    def _options(passages: int | None, rerank: bool | None, digest: str | None) -> Options:
        """One request's settings, passed to the assistant, whose own stay as they are."""
        return Options(int(passages) if passages else None, None if rerank is None else bool(rerank), digest or "")

    def add_user(self, message: str, messages: list[dict]) -> tuple[str, list[dict], str]:
        """Shows the question at once and clears the box; the answer comes from `respond` when its turn comes."""
        message = _text(message or "", "question").strip()
        if not message:
            return "", messages, ""
        shown = message if len(message) <= MAX_QUESTION_CHARS else f"{message[:MAX_QUESTION_CHARS]} …"
        return "", [*messages, {"role": "user", "content": escape(shown)}], message

    def respond(
        self,
        message: str,
        messages: list[dict],
        turns: list[dict],
        passages: int | None = None,
        rerank: bool = False,
        digest: str | None = None,
    ) -> Iterator[tuple[list[dict], str, list[dict], str]]:
        """Streams the answer into the chat, then replaces it by the checked answer and fills the sources panel.
        `digest`, a document's id, answers from that digest alone.

        Yields:
            (chat messages, sources panel HTML, turns, plain text of the answer for the copy button).
        """
        if not message:
            return
        turn = len(turns)
        history = [(t["question"], t["text"]) for t in turns]
        previous = render.panel(turns)
        streamed = ""
        if self.warmup.warming:
            yield [*messages, _bot(render.streaming_html(WAITING))], previous, turns, ""
            self.warmup.wait()
        try:
            with self.models:  # held while streaming; a stopped answer closes the generator, which releases it
                assistant = self._serving(rerank)
                for event in assistant.stream(message, history, self._options(passages, rerank, digest)):
                    if isinstance(event, Answer):
                        answer = event
                        break
                    streamed += event
                    yield [*messages, _bot(render.streaming_html(streamed))], previous, turns, ""
                else:
                    raise RagError("the assistant stopped without an answer; try again")
        except RagError as e:
            yield [*messages, _bot(render.message_html(str(e)))], previous, turns, ""
            return
        except Exception as e:  # never a traceback in the page; the log has it
            logger.exception("answering %r failed", message)
            notice = f"something went wrong ({type(e).__name__}); the server log has the details"
            yield [*messages, _bot(render.message_html(notice))], previous, turns, ""
            return
        record = {"question": answer.question, "text": answer.text, "sources": render.sources_html(answer, turn)}
        turns = [*turns, record]
        shown = render.answer_html(answer, turn)
        if len(message) > MAX_QUESTION_CHARS:
            cut = f"only the first {MAX_QUESTION_CHARS} characters of the question were read"
            shown = f"{render.message_html(cut)}<br>{shown}"
        yield [*messages, _bot(shown)], render.panel(turns), turns, render.plain_text(answer)

    def status(self) -> str:
        generator = getattr(getattr(self.assistant, "config", None), "model", "?")
        return render.status_html(self.assistant.retriever.index.manifest, str(generator))

    def add_files(self, files: list[Any] | None, progress: Any = None, by: str = "") -> tuple[str, str]:
        """Saves the uploaded digests that pass the checks and updates the index; returns (notice, status)."""
        if not self.allow_uploads:
            return render.message_html(UPLOADS_OFF), self.status()
        if not files:
            return render.message_html("choose .md, .txt or .pdf files first"), self.status()
        self.warmup.wait()  # the new passages are embedded by the model the warm-up may still be loading
        # Gradio hands over file paths whose base name is the user's file name.
        paths = [Path(f) if isinstance(f, str | Path) else Path(f.name) for f in files]
        checked = uploads.save(paths, [p.name for p in paths], self.uploads_dir, by=by)
        notes = [render.message_html(r) for r in checked.rejected]
        if checked.saved:
            retriever = self.assistant.retriever

            def report(done: int, total: int) -> None:
                if progress is not None:
                    progress((done, total), desc="embedding new passages")

            try:
                with self.models:
                    result = uploads.reindex(self.config, self.uploads_dir, retriever.embedder, report)
                    self._reopen()
            except RagError as e:
                return "<br>".join([*notes, render.message_html(str(e))]), self.status()
            notes.insert(
                0,
                f"✅ indexed {', '.join(escape(s) for s in checked.saved)}: "
                f"{result.chunks} passages in the index, {result.embedded} newly embedded",
            )
        return "<br>".join(notes), self.status()

    def _follow_index(self) -> None:
        """Switches to the index generation a `rag index` run (cron, another shell) made current since the last
        request. Until then requests read the previous one, which stays whole on disk; a new one that cannot be
        used (another embedder, damage) is logged and the loaded index kept."""
        from rag import pipeline, store

        loaded = getattr(self.assistant.retriever, "index", None)
        if loaded is None or store.current(pipeline.index_dir(self.config)) in (None, loaded.path):
            return
        try:
            self._reopen()
            logger.info("switched to the index at %s", self.assistant.retriever.index.path)
        except RagError as e:
            logger.warning("kept the loaded index %s: %s", loaded.path, e)

    def _reopen(self) -> None:
        """Installs an assistant over the updated index, with the loaded embedder, reranker and generator."""
        from rag import pipeline, store
        from rag.search import Retriever

        assistant = self.assistant
        old = assistant.retriever
        index = store.load(pipeline.index_dir(self.config))
        self._install(assistant.using(Retriever(index, old.embedder, old.config, old.reranker, old.rerank_config)))

    def digest_issues(self) -> tuple[list[tuple[str, str]], str]:
        """The issues of the daily reports in the loaded index, newest first, as (label, date); and the index's
        path, which changes whenever an upload or a question swaps in another index generation.

        The digest view reads the loaded index and does not switch it itself: a switch happens inside the
        model's queue (`_follow_index`), never under a request that is reading the index.
        """
        retriever = self.assistant.retriever
        return render.digest_dates(retriever.cards), str(retriever.index.path)

    def documents(self) -> list[tuple[str, str]]:
        """The digests a question can be kept to, newest first, as (label, document id); first, all of them."""
        dated = {c.doc_id: c.date for c in self.assistant.retriever.index.chunks}
        newest_first = sorted(dated, key=lambda doc: (dated[doc], doc), reverse=True)
        return [(ALL_DIGESTS, "")] + [(f"{dated[d] or 'undated'} · {Path(d).name}", d) for d in newest_first]

    def digest(self, date: str | None) -> str:
        """One issue of the daily reports in the loaded index: its papers grouped by field."""
        return render.digest_html(self.assistant.retriever.cards, date)

    def ask_paper(self, messages: list[dict], event: Any) -> tuple[str, list[dict], str]:
        """The Ask button of a paper in the digest view: its question, as if typed into the box and sent."""
        data = getattr(event, "_data", None)
        question = data.get("question") if isinstance(data, dict) else None
        return self.add_user(question if isinstance(question, str) else "", messages)

    def answer(self, question: str, history: list[tuple[str, str]] | None = None) -> Answer:
        """The checked answer to a question after the (question, answer) turns of `history`, for scripts and the
        OpenAI-compatible endpoint.

        Raises:
            RagError: the question is no text, or the assistant failed in a way it can say.
        """
        question = _text(question, "question")
        self.warmup.wait()
        with self.models:
            return self._serving().ask(question, history)

    def search(self, question: str, k: int = 5) -> list[dict]:
        """The top-k passages for a question: document, date, paper title, link, score and text.

        Args:
            question: What to look for, in English or Chinese.
            k: How many passages to return, from 1 to 50.
        """
        with _api_errors():
            question, k = _text(question, "question"), _count(k, "k", 50)
            self.warmup.wait()
            with self.models:
                assistant = self._serving()
                hits = assistant.retriever.search(question, k, rerank=assistant.rerank)
        return [
            {
                "rank": h.rank,
                "score": round(h.score, 4),
                "source": h.chunk.doc_id,
                "date": h.chunk.date,
                "section": h.chunk.section,
                "link": h.chunk.link,
                "text": h.chunk.text,
            }
            for h in hits
        ]

    def ask(self, question: str) -> dict:
        """Answers a question from the digests, with [n] citations (or says the digests don't say).

        Args:
            question: The question, in English or Chinese.
        """
        with _api_errors():
            answer = self.answer(question)  # which refuses a question that is no text
        return {
            "answer": answer.text,
            "answerable": answer.answerable,
            "reply": answer.reply,
            "quote": answer.quote,
            "decline_reason": answer.decline_reason,
            "query": answer.query,
            "citations": render.citations_json(answer),
        }


@contextlib.contextmanager
def _api_errors() -> Iterator[None]:
    """A user's mistake reaches an API client as its message (gr.Error), not as a hidden server error."""
    import gradio as gr

    try:
        yield
    except RagError as e:
        raise gr.Error(str(e)) from None
    except Exception as e:  # never a bare error without a message; the log has the traceback
        logger.exception("an API call failed")
        raise gr.Error(f"something went wrong ({type(e).__name__}); the server log has the details") from None


def _text(value: Any, name: str) -> str:
    """An API argument as text: a string, with any lone surrogate (no character at all) replaced by '?'."""
    if not isinstance(value, str):
        raise RagError(f"{name} must be text, got {type(value).__name__}")
    return value.encode("utf-8", "replace").decode("utf-8")


def _count(value: Any, name: str, most: int) -> int:
    """An API argument as a whole number, brought into 1..most."""
    try:
        whole = int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    except (ValueError, OverflowError):  # nan, inf
        whole = None
    if whole is None or whole != value:
        raise RagError(f"{name} must be a whole number from 1 to {most}, got {value!r}")
    return max(1, min(whole, most))


def _bot(content: str) -> dict:
    return {"role": "assistant", "content": content}


def build_app(
    assistant: Assistant | Callable[[], Assistant],
    config: Config,
    uploads_dir: Path | None = None,
    allow_uploads: bool = False,
) -> Any:
    """Builds the page (not launched) around an assistant, or a function that opens one on first use.

    Args:
        assistant: A `rag.answer.Assistant` (or anything with its `stream`, `ask`, `using`, `retriever`,
            `config` and `rerank`), or a zero-argument callable returning one.
        config: The configuration the index and models came from.
        uploads_dir: Where uploaded digests are saved; by default `uploads/` in the first corpus folder.
        allow_uploads: Let the page add digests to the shared index (otherwise the upload call is refused).
    """
    import gradio as gr

    backend = Backend(assistant, config, uploads_dir, allow_uploads)
    with gr.Blocks(title="Digest assistant", fill_width=True) as app:
        app.backend = backend  # type: ignore[attr-defined]  # for tests and scripts
        turns = gr.State([])
        pending = gr.State("")
        gr.Markdown("### Ask the AI-news digests · 向 AI 日报提问")
        models = gr.HTML(elem_id="models")
        warming = gr.Timer(1.0)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=340):
                chat = gr.Chatbot(
                    elem_id="chat",
                    show_label=False,
                    height="60vh",
                    buttons=[],
                    feedback_options=None,
                    layout="bubble",
                    # Messages are HTML the page builds from escaped text: Markdown and LaTeX written by the model
                    # or a digest ("![](http://...)", bare links, "$$") stay text, never an image fetched or a link.
                    render_markdown=False,
                    latex_delimiters=[],
                    placeholder="Ask in English or Chinese; click a [n] in an answer to see its passage.",
                )
                with gr.Row():
                    box = gr.Textbox(
                        elem_id="question",
                        placeholder="e.g. MOVA 是什么？ / What is NanoQuant?",
                        show_label=False,
                        scale=5,
                        min_width=240,
                        max_lines=6,
                        autofocus=True,
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="ask")
                    stop = gr.Button("Stop", scale=1, min_width=70, elem_id="stop")
                with gr.Row():
                    within = gr.Dropdown(
                        [(ALL_DIGESTS, "")],
                        value="",
                        show_label=False,
                        container=False,
                        elem_id="within",
                        scale=3,
                        min_width=200,
                    )
                    copy = gr.Button("Copy answer", size="sm", elem_id="copy", scale=1)
                    clear = gr.Button("New chat", size="sm", elem_id="clear", scale=1)
                gr.Examples(EXAMPLES, inputs=[box], label="Examples · 示例")
                with gr.Accordion("Settings", open=False):
                    passages = gr.Slider(
                        1, 8, value=config.generate.passages, step=1, label="Passages given to the model"
                    )
                    rerank = gr.Checkbox(
                        value=config.answer.rerank,
                        label="Rerank (slower: about 3 s more a question on 2 CPU cores)",
                        interactive=config.rerank.backend != "none",
                    )
                    gr.Markdown(
                        f"Profile: embedder `{config.embed.model}`, generator `{config.generate.model}`. "
                        "Start `rag --config configs/full.toml serve` for the full-size models."
                    )
                with gr.Accordion("Index: digests and uploads", open=False):
                    status = gr.HTML(elem_id="status")
                    files = gr.File(
                        file_count="multiple",
                        file_types=[".md", ".txt", ".pdf"],
                        label="Add digests (.md, .txt, .pdf)",
                        elem_id="upload",
                        visible=allow_uploads,
                    )
                    add = gr.Button("Add to the index", elem_id="add", visible=allow_uploads)
                    if not allow_uploads:
                        gr.Markdown(UPLOADS_OFF[0].upper() + UPLOADS_OFF[1:] + ".")
                    notice = gr.HTML(elem_id="upload-notice")
            with gr.Column(scale=2, min_width=300), gr.Tabs(elem_id="side"):
                with gr.Tab("Sources · 出处", id="sources-tab", elem_id="sources-tab"):
                    sources = gr.HTML(render.panel([]), elem_id="sources")
                with gr.Tab("Digests · 日报", id="digests-tab", elem_id="digests-tab"):
                    issue = gr.Dropdown(label="Issue · 日报日期", elem_id="issue", choices=[], interactive=True)
                    digest = gr.HTML(elem_id="digest", js_on_load=ASK_JS)
        last_plain = gr.Textbox(visible=False)
        shown_index = gr.State("")  # the index generation the digest view shows

        def digests(chosen: str | None, kept_to: str | None, shown: str) -> tuple[Any, Any, Any, str]:
            """The issue list, the chosen issue and the digests a question can be kept to, again only when
            another index generation is loaded."""
            issues, loaded = backend.digest_issues()
            if loaded == shown:
                return gr.skip(), gr.skip(), gr.skip(), shown
            dates = [date for _, date in issues]
            date = chosen if chosen in dates else next(iter(dates), None)
            documents = backend.documents()
            kept = kept_to if kept_to in [d for _, d in documents] else ""
            return (
                gr.Dropdown(choices=issues, value=date),
                backend.digest(date),
                gr.Dropdown(choices=documents, value=kept),
                loaded,
            )

        # The digest view follows the loaded index: after an upload, and after a question that switched to an
        # index generation built outside the page.
        # dict[str, Any]: gradio's listeners take keywords of a dozen types, and a dict[str, object] fits none.
        refresh: dict[str, Any] = dict(
            fn=digests,
            inputs=[issue, within, shown_index],
            outputs=[issue, digest, within, shown_index],
            api_visibility="private",
        )
        ask_args: dict[str, Any] = dict(
            fn=backend.add_user, inputs=[box, chat], outputs=[box, chat, pending], queue=False
        )
        answer_args: dict[str, Any] = dict(
            fn=backend.respond,
            inputs=[pending, chat, turns, passages, rerank, within],
            outputs=[chat, sources, turns, last_plain],
            concurrency_limit=1,
            concurrency_id=MODEL,
            api_visibility="private",
        )

        def ask_paper(messages: list[dict], event: gr.EventData) -> tuple[str, list[dict], str]:
            return backend.ask_paper(messages, event)

        ask_paper.__annotations__["event"] = gr.EventData  # as `add_files` below: gradio reads the class
        asked = [
            box.submit(**ask_args, api_visibility="private"),
            send.click(**ask_args, api_visibility="private"),
            digest.click(ask_paper, [chat], [box, chat, pending], queue=False, api_visibility="private"),
        ]
        answering = [event.then(**answer_args) for event in asked]
        stop.click(None, cancels=answering)
        copy.click(None, inputs=[last_plain], js=COPY_JS)
        for event in (clear.click, chat.clear):
            event(
                lambda: ([], [], render.panel([]), ""),
                outputs=[chat, turns, sources, last_plain],
                queue=False,
                api_visibility="private",
            )

        def add_files(
            files: list[Any] | None,
            request: gr.Request,
            progress: Any = gr.Progress(),  # noqa: B008
        ) -> tuple[str, str, None]:
            return (*backend.add_files(files, progress, by=getattr(request, "username", None) or ""), None)

        # Gradio passes the request (with the login name) to a parameter annotated gr.Request; this module's
        # annotations are strings, and gradio is imported here only, so the annotation is set as the class.
        add_files.__annotations__["request"] = gr.Request

        add.click(
            add_files,
            [files],
            [notice, status, files],
            concurrency_limit=1,
            concurrency_id=MODEL,
            api_visibility="private",
        ).then(**refresh)

        for event in answering:
            event.then(**refresh)
        issue.input(backend.digest, [issue], [digest], queue=False, api_visibility="private")

        def models_status() -> tuple[str, Any]:
            return backend.models_status(), gr.Timer(active=backend.warmup.warming)

        warming.tick(models_status, outputs=[models, warming], queue=False, api_visibility="private")
        app.load(backend.status, outputs=[status], api_visibility="private")
        app.load(**refresh)
        app.load(models_status, outputs=[models, warming], queue=False, api_visibility="private")
        # The docstrings, Args included, describe these to API and MCP clients; an MCP tool takes the method's name.
        gr.api(backend.search, api_name="search", concurrency_limit=1, concurrency_id=MODEL)
        gr.api(backend.ask, api_name="ask", concurrency_limit=1, concurrency_id=MODEL)
    app.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return app


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Caps glibc's malloc arenas for this process, as MALLOC_ARENA_MAX=2 would (unless that is set).

    glibc gives threads that allocate at once arenas of their own (up to 8 per core) and seldom returns
    their memory; Gradio answers on worker threads, so the server's memory crept up in steps for minutes.
    Load test, 10 users for 480 s: +168 MB and still rising at the end with glibc's default; +99 to +109 MB
    and flat for the last 2-3 minutes with 2 arenas, at the same latency. No effect where libc is not glibc.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, arenas)  # M_ARENA_MAX in glibc's malloc.h
    except (OSError, AttributeError):
        logger.debug("not glibc: malloc arenas left as they are")


def auth_from_env() -> tuple[str, str] | None:
    """(user, password) from RAG_UI_USER and RAG_UI_PASSWORD, or None when they are not both set."""
    user, password = os.environ.get("RAG_UI_USER", ""), os.environ.get("RAG_UI_PASSWORD", "")
    if bool(user) != bool(password):
        raise RagError("set both RAG_UI_USER and RAG_UI_PASSWORD for a login, or neither")
    return (user, password) if user else None


def serve(
    config: Config,
    host: str = "127.0.0.1",
    port: int = 7860,
    mcp: bool = False,
    block: bool = True,
    assistant: Assistant | None = None,
    uploads: bool | None = None,
    openai: bool = False,
) -> Any:
    """Opens the index and serves the page; the models load on a background thread meanwhile (a question asked
    before they are ready waits for them).

    Args:
        host: "127.0.0.1" serves this machine only; "0.0.0.0" every interface (set a login then).
        mcp: Also serve `search` and `ask` as MCP tools at /gradio_api/mcp/ (streamable HTTP); not with a login.
        block: Wait until the server is stopped (Ctrl-C); False returns the launched app (tests).
        assistant: An assistant to serve instead of opening the configured one.
        uploads: Let the page add digests to the index; None: only behind a login.
        openai: Also serve an OpenAI-compatible chat endpoint at /v1/chat/completions (ui/openai_api.py); not
            with a login.

    Raises:
        RagError: no index yet, a login half set, MCP asked for with a login or without its package, or the
            OpenAI endpoint with a login.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    limit_malloc_arenas()
    if mcp:
        try:
            import mcp as _  # noqa: F401
        except ImportError:
            raise RagError("serving MCP tools needs the mcp package: pip install -c constraints.txt mcp") from None
    auth = auth_from_env()
    if mcp and auth is not None:
        # Gradio runs an MCP tool call through its own client of the page, which has no login: every call would fail.
        raise RagError("MCP clients cannot log in: unset RAG_UI_USER and RAG_UI_PASSWORD, or serve without --mcp")
    if openai and auth is not None:
        raise RagError(
            "the OpenAI-compatible endpoint has no login: unset RAG_UI_USER and RAG_UI_PASSWORD, "
            "or serve without --openai"
        )
    if host not in ("127.0.0.1", "localhost") and auth is None:
        logger.warning("serving on %s without a login: set RAG_UI_USER and RAG_UI_PASSWORD to require one", host)
    if assistant is None:
        from rag.pipeline import open_assistant

        assistant = open_assistant(config)  # opens the index now, so a missing one is reported at once
    app = build_app(assistant, config, allow_uploads=auth is not None if uploads is None else uploads)
    app.backend.warm_up()
    routes = openai_api.routes(app.backend) if openai else []
    try:
        _launch(app, host, port, auth, mcp, block, routes)
    except OSError as e:  # Gradio's "Cannot find empty port" and bind errors
        raise RagError(f"cannot serve on {host}:{port} ({e}); pick another --port or stop what uses it") from None
    return app


def allowed_hosts(host: str) -> list[str]:
    """The names the page answers to in a request's Host header: loopback ones, the address it is bound to
    (unless that is every interface) and those in RAG_UI_HOSTS (comma-separated, e.g. "digests.example.org").
    Any other is refused, so a web page that points its own name at this machine (DNS rebinding) cannot drive it."""
    names = ["127.0.0.1", "localhost"]
    names += [host] if host not in ("0.0.0.0", "::", *names) else []
    return names + operator_hosts()


def operator_hosts() -> list[str]:
    """The public names the operator serves the page under (RAG_UI_HOSTS, comma-separated)."""
    return [n.strip() for n in os.environ.get("RAG_UI_HOSTS", "").split(",") if n.strip()]


class SameOrigin:
    """Refuses a request that changes something (POST, PUT, DELETE ...) sent by a browser from another site: its
    Origin header names another address than the page's own (the Host it asks) or a name in RAG_UI_HOSTS. A form on
    a web page the user visits could otherwise post uploads into the server's cache. Scripts (gradio_client, curl)
    send no Origin and pass."""

    def __init__(self, app: Any):
        self.app = app
        self.names = set(operator_hosts())

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            origin = headers.get("origin")
            if origin is not None:
                parts = urllib.parse.urlsplit(origin)
                if parts.netloc != headers.get("host") and parts.hostname not in self.names:
                    from starlette.responses import PlainTextResponse

                    await PlainTextResponse("cross-origin request refused", status_code=403)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _launch(app: Any, host: str, port: int, auth: Any, mcp: bool, block: bool, routes: list[Any]) -> None:
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app.launch(
        app_kwargs={
            "routes": routes,  # ahead of Gradio's own
            "middleware": [
                Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(host)),
                Middleware(SameOrigin),
            ],
        },
        server_name=host,
        server_port=port,
        auth=auth,
        mcp_server=mcp,
        prevent_thread_lock=not block,
        max_file_size=4 * uploads.MAX_UPLOAD_BYTES,
        css=CSS,
        js=JS,
        footer_links=["api"],
        quiet=not block,
        # The handlers turn their own failures into messages (`_api_errors`); this shows Gradio's, such as a call
        # with too few arguments, instead of {"error": null}.
        show_error=True,
        ssr_mode=False,
    )
