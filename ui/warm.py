"""The models warmed on a background thread while the page starts, so the first question does not wait for them."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable

from rag.answer import Assistant

logger = logging.getLogger(__name__)

QUERY = "warm-up"
QUESTION = "检索增强生成的最新进展是什么？"
TOKENS = 2  # generating a token or two loads the model and runs it once: what the first answer would pay
STATUS = {
    "warming": "⏳ Loading the models… the first answer waits for them. 正在加载模型，第一个回答需要等待。",
    "ready": "✓ Models ready · 模型已就绪",
    "failed": "⚠ The models could not be loaded ahead (the server log says why); the first question loads them.",
}


def warm(assistant: Assistant) -> dict[str, float]:
    """Runs each model the assistant holds once: the embedder on a short query, the generator for a token or
    two, the reranker(s) on one passage; then answers one question. Returns the seconds each took, by name; a
    model it lacks is skipped."""
    retriever = getattr(assistant, "retriever", None)
    steps: dict[str, Callable[[], object]] = {}
    embedder = getattr(retriever, "embedder", None)
    if embedder is not None:
        steps["embedder"] = lambda: embedder.embed_queries([QUERY])
    generator = getattr(assistant, "generator", None)
    if generator is not None:
        steps["generator"] = lambda: list(generator.stream([{"role": "user", "content": QUERY}], TOKENS))
    # The judge that picks quotes is often the search's reranker too: one loaded copy, warmed once.
    judges = (getattr(assistant, "judge", None), getattr(retriever, "reranker", None))
    rerankers = {id(r): r for r in judges if r is not None}
    for i, reranker in enumerate(rerankers.values()):
        steps[f"reranker{i or ''}"] = functools.partial(reranker.score, QUERY, [QUERY])
    # Then a whole answer, for what loads on first use besides the models: the Chinese word list, the paper
    # cards, the answer checks.
    if hasattr(assistant, "ask"):
        steps["answer"] = functools.partial(assistant.ask, QUESTION)
    took = {}
    for name, step in steps.items():
        started = time.perf_counter()
        step()
        took[name] = time.perf_counter() - started
    return took


class Warmup:
    """The warm-up of one process's models: started once, waited for by every request that uses the models
    (they are not thread-safe, and the warm-up runs outside Gradio's queue)."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._done.set()  # nothing to wait for until `start`
        self.state = "off"  # off, warming, ready or failed

    @property
    def warming(self) -> bool:
        return not self._done.is_set()

    def start(self, open_assistant: Callable[[], Assistant]) -> threading.Thread:
        """Warms the models of the assistant `open_assistant` returns, on a daemon thread; returns the thread."""
        self._done.clear()
        self.state = "warming"
        thread = threading.Thread(target=self._run, args=(open_assistant,), name="warm-up", daemon=True)
        thread.start()
        return thread

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until the warm-up has ended (at once when none runs); False if `timeout` passed first."""
        return self._done.wait(timeout)

    def status(self) -> str:
        """The page's line about the models: loading, ready, or not loaded ahead; "" when no warm-up ran."""
        return STATUS.get(self.state, "")

    def _run(self, open_assistant: Callable[[], Assistant]) -> None:
        started = time.perf_counter()
        try:
            took = warm(open_assistant())
        except Exception:  # the first question then loads the models, as it would without a warm-up
            logger.exception("warming the models failed after %.1f s", time.perf_counter() - started)
            self.state = "failed"
        else:
            each = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in took.items()) or "no models"
            logger.info("models warmed in %.1f s (%s)", time.perf_counter() - started, each)
            self.state = "ready"
        finally:
            self._done.set()
