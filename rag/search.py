"""Find the passages that answer a question: keyword and dense search, fusion, then reranking."""

from __future__ import annotations

import copy
import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rag import cards, fuse, store
from rag.cards import Card, Topics
from rag.config import RerankConfig, SearchConfig
from rag.embed import Embedder
from rag.errors import IndexMismatchError, InputError
from rag.types import Hit

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
STAGES = ("keyword", "dense", "fused", "reranked")


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


@dataclass(frozen=True)
class Stages:
    """Every stage's ranking for one question, as (row, score) lists; `reranked` is empty without a reranker.
    `vector` is the question's embedding (None in keyword-only mode), for callers that compare it again."""

    keyword: fuse.Ranked
    dense: fuse.Ranked
    fused: fuse.Ranked
    reranked: fuse.Ranked
    vector: np.ndarray | None = None

    def final(self) -> fuse.Ranked:
        return self.reranked or self.fused


class Retriever:
    """Hybrid search over one loaded index, with an optional reranker."""

    def __init__(
        self,
        index: store.Index,
        embedder: Embedder,
        config: SearchConfig | None = None,
        reranker=None,
        rerank_config: RerankConfig | None = None,
    ):
        built_by = index.manifest["embedder"]["id"]
        if built_by != embedder.id:
            raise IndexMismatchError(
                f"index in {index.path.parent}/ was built with embedder {built_by!r}, "
                f"the configuration names {embedder.id!r}; run `rag index --rebuild`"
            )
        self.index = index
        self.embedder = embedder
        self.config = config or SearchConfig()
        self.reranker = reranker
        self.rerank_config = rerank_config or RerankConfig()
        # Each kind of digest: the phrases that name it in a question, and the rows of its documents (those
        # whose file name or title holds its word).
        self.kinds = [
            (phrases, {row for row, c in enumerate(index.chunks) if word in f"{c.doc_id} {c.title}".lower()})
            for word, phrases in self.config.parsed_kinds()
        ]

    def with_reranker(self, reranker) -> Retriever:
        """A retriever like this one, over the same index, that reranks with `reranker`; this one is left as it
        is (what it has read of the index, its cards, is shared)."""
        other = copy.copy(self)
        other.reranker = reranker
        return other

    @cached_property
    def cards(self) -> list[Card]:
        """The paper cards of the index's daily reports (rag/cards.py), read once from its chunks."""
        return cards.build(self.index.chunks)

    @cached_property
    def topics(self) -> Topics:
        """Finds the cards of a topic (`cards.Topics`)."""
        return cards.Topics(self.cards, self.embedder.embed_queries)

    @cached_property
    def paper_names(self) -> set[str]:
        """The short names of the cards' papers (`cards.paper_names`)."""
        return cards.paper_names(self.cards)

    def combine(self, keyword: fuse.Ranked, dense: fuse.Ranked) -> fuse.Ranked:
        """The first-stage ranking: the keyword and dense rankings fused as `search` configures."""
        c = self.config
        if c.mode == "dense":
            return dense
        if c.mode == "keyword":
            return keyword
        if c.fusion == "rrf":
            return fuse.rrf([dense, keyword], k=c.rrf_k, weights=[2 * c.dense_weight, 2 * (1 - c.dense_weight)])
        return fuse.weighted([dense, keyword], [c.dense_weight, 1 - c.dense_weight])

    def rerank(self, question: str, fused: fuse.Ranked) -> fuse.Ranked:
        """The final ranking: the reranker judges the top `rerank.candidates` and its score is mixed in."""
        c = self.rerank_config
        head, tail = fused[: c.candidates], fused[c.candidates :]
        judged = self.reranker.score(question, [self.index.chunks[row].embed_text for row, _ in head])
        combined = fuse.rerank(head, judged, c.weight)
        # Unjudged rows keep their order below every judged one.
        low = min((s for _, s in combined), default=0.0)
        return combined + [(row, low - (i + 1) * 1e-6) for i, (row, _) in enumerate(tail)]

    def rows_of(self, doc_id: str) -> set[int]:
        """The rows of one document's chunks.

        Raises:
            InputError: no document of that id is in the index.
        """
        rows = {row for row, chunk in enumerate(self.index.chunks) if chunk.doc_id == doc_id}
        if not rows:
            raise InputError(f"no digest {doc_id!r} in the index; `rag index` lists what it indexed")
        return rows

    def stages(self, questions: list[str], rerank: bool = True, within: set[int] | None = None) -> list[Stages]:
        """Runs every stage for each question; the reranker runs only if there is one and `rerank` is set.

        Args:
            within: Only these rows may answer (a digest the reader chose), besides those a question's words
                name (`named_rows`).
        """
        cleaned = [clean_question(q) for q in questions]
        depth = self.config.depth
        vectors = self.embedder.embed_queries(cleaned) if self.config.mode != "keyword" else None
        if vectors is not None and len(cleaned) and vectors.shape[1] != self.index.vectors.shape[1]:
            raise IndexMismatchError(
                f"query vectors have {vectors.shape[1]} dimensions, the index {self.index.vectors.shape[1]}; "
                "run `rag index --rebuild`"
            )
        results = []
        for i, question in enumerate(cleaned):
            rows = self.named_rows(question)
            if within is not None:  # the chosen digest, narrowed to the kind the question names if that leaves any
                rows = (within & rows if rows is not None else None) or within
            # Only some documents may answer: fetch deeper, so that about `depth` of theirs remain.
            deeper = depth if rows is None else depth * -(-len(self.index.chunks) // len(rows))
            dense = self.index.search(vectors[i], deeper) if vectors is not None else []
            keyword = self.index.keyword.search(question, deeper) if self.config.mode != "dense" else []
            if rows is not None:
                dense = [(row, s) for row, s in dense if row in rows][:depth]
                keyword = [(row, s) for row, s in keyword if row in rows][:depth]
            fused = self.combine(keyword, dense)
            reranked = self.rerank(question, fused) if rerank and self.reranker is not None and fused else []
            results.append(Stages(keyword, dense, fused, reranked, vectors[i] if vectors is not None else None))
        return results

    def named_rows(self, question: str) -> set[int] | None:
        """The rows of the documents of the one kind the question names (`search.kinds`), or None for all:
        "周报里..." searches the weekly reports. None too when no document is of that kind."""
        asked = question.lower().replace("-", " ")  # "HF-report"
        named = [rows for phrases, rows in self.kinds if any(p in asked for p in phrases)]
        return (named[0] or None) if len(named) == 1 else None

    def hits(self, ranking: fuse.Ranked, k: int) -> list[Hit]:
        return [Hit(rank, score, self.index.chunks[row]) for rank, (row, score) in enumerate(ranking[:k], 1)]

    def search_many(self, questions: list[str], k: int, rerank: bool = True) -> list[list[Hit]]:
        """Searches several questions (queries embedded in one batch); returns the top-k final hits of each."""
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        return [self.hits(s.final(), k) for s in self.stages(questions, rerank)]

    def search(self, question: str, k: int, rerank: bool = True) -> list[Hit]:
        return self.search_many([question], k, rerank)[0]
