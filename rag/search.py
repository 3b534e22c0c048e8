"""Answer a question with the passages nearest to it in the index."""

from __future__ import annotations

import logging
import re
import unicodedata

from rag import store
from rag.embed import Embedder
from rag.errors import IndexMismatchError, InputError
from rag.types import Hit

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_question(question: str) -> str:
    """Normalizes a question: NFKC, no control characters, trimmed, capped at MAX_QUESTION_CHARS.

    Raises:
        InputError: nothing is left to search for.
    """
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", question)).strip()
    if not text:
        raise InputError('the question is empty; ask something, e.g. rag search "哪些论文做视频生成？"')
    if len(text) > MAX_QUESTION_CHARS:
        logger.warning("question cut from %d to %d characters", len(text), MAX_QUESTION_CHARS)
        text = text[:MAX_QUESTION_CHARS]
    return text


class Retriever:
    """Dense search over one loaded index."""

    def __init__(self, index: store.Index, embedder: Embedder):
        built_by = index.manifest["embedder"]["id"]
        if built_by != embedder.id:
            raise IndexMismatchError(
                f"index in {index.path.parent}/ was built with embedder {built_by!r}, "
                f"the configuration names {embedder.id!r}; run `rag index --rebuild`"
            )
        self.index = index
        self.embedder = embedder

    def search_many(self, questions: list[str], k: int) -> list[list[Hit]]:
        """Searches several questions with one embedding batch; returns the top-k hits of each."""
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        vectors = self.embedder.embed_queries([clean_question(q) for q in questions])
        if len(questions) and vectors.shape[1] != self.index.vectors.shape[1]:
            raise IndexMismatchError(
                f"query vectors have {vectors.shape[1]} dimensions, the index {self.index.vectors.shape[1]}; "
                "run `rag index --rebuild`"
            )
        results = []
        for vector in vectors:
            found = self.index.search(vector, k)
            results.append([Hit(rank, score, self.index.chunks[row]) for rank, (row, score) in enumerate(found, 1)])
        return results

    def search(self, question: str, k: int) -> list[Hit]:
        return self.search_many([question], k)[0]
