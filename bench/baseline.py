"""The pipeline a user would write instead: LangChain's default splitter and FAISS store, on our embedder."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from measure import Latency
from shipped import passage_tokens

from rag.embed import Embedder
from rag.evaluate import Question, relevant_counts, score
from rag.search import Retriever
from rag.types import Document

K = 10


def _langchain() -> SimpleNamespace:
    """Imports LangChain lazily (the `bench` extra); langchain-community warns that it is being sunset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document as LCDocument
    from langchain_core.embeddings import Embeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter
    return SimpleNamespace(FAISS=FAISS, Document=LCDocument, Embeddings=Embeddings, Splitter=splitter)


def adapter(embedder: Embedder) -> Any:
    """A LangChain `Embeddings` over our embedder: same model, same "query: " / "passage: " prompts."""
    lc = _langchain()

    class OurEmbeddings(lc.Embeddings):
        def __init__(self) -> None:
            self.seconds = 0.0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            started = time.perf_counter()
            vectors = embedder.embed_passages(texts).tolist()
            self.seconds += time.perf_counter() - started
            return vectors

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_queries([text])[0].tolist()

    return OurEmbeddings()


@dataclass(frozen=True)
class Baseline:
    """A LangChain FAISS store and what building it took.

    Attributes:
        build_s: Splitting, embedding and indexing; None when it reused our vectors (nothing to compare).
        tokens_per_passage: Mean e5 tokens of a passage before the model's 512-token cut.
        tokens_embedded: Tokens the embedder read, after the cut: the work of building.
        truncated: Share of passages longer than 512 tokens, whose end the embedder never sees.
    """

    name: str
    store: Any
    passages: list[str]
    build_s: float | None
    embed_s: float | None
    tokens_per_passage: float
    tokens_embedded: int
    truncated: float


def _describe(name: str, vectorstore: Any, passages: list[str], build_s: float | None, embed_s: float | None):
    tokens = passage_tokens(passages)
    return Baseline(
        name,
        vectorstore,
        passages,
        None if build_s is None else round(build_s, 3),
        None if embed_s is None else round(embed_s, 3),
        round(sum(tokens) / len(tokens), 1),
        sum(min(n, 512) for n in tokens),
        round(sum(n > 512 for n in tokens) / len(tokens), 3),
    )


def build_default(documents: Sequence[Document], embedder: Embedder) -> Baseline:
    """`RecursiveCharacterTextSplitter()` at its defaults (4000 characters, 200 overlap) then
    `FAISS.from_documents`: the tutorial pipeline, fed the same decoded digests."""
    lc = _langchain()
    embeddings = adapter(embedder)
    started = time.perf_counter()
    docs = [lc.Document(page_content=d.text, metadata={"source": d.doc_id}) for d in documents]
    splits = lc.Splitter().split_documents(docs)
    vectorstore = lc.FAISS.from_documents(splits, embeddings)
    build_s = time.perf_counter() - started
    return _describe("langchain", vectorstore, [s.page_content for s in splits], build_s, embeddings.seconds)


def build_same_chunks(retriever: Retriever) -> Baseline:
    """LangChain's FAISS store over our chunks and our vectors: only the store and the search differ."""
    lc = _langchain()
    index = retriever.index
    texts = [c.text for c in index.chunks]
    vectorstore = lc.FAISS.from_embeddings(zip(texts, index.vectors.tolist(), strict=True), adapter(retriever.embedder))
    return _describe("langchain-same-chunks", vectorstore, texts, None, None)


def accuracy(baseline: Baseline, gold: Sequence[Question]) -> dict[str, float]:
    """Scores `similarity_search(k=10)` as `rag eval` scores our stages (same evidence rule)."""
    rankings = [[d.page_content for d in baseline.store.similarity_search(q.question, k=K)] for q in gold]
    relevant = relevant_counts(gold, [SimpleNamespace(text=p) for p in baseline.passages])
    return score(gold, rankings, relevant)[0]["all"]


def paired_latency(searches: dict[str, Callable[[str], Any]], questions: Sequence[str]) -> dict[str, Latency]:
    """Times each search on each question, in turn and in a rotating order, so that a busy moment of the
    shared machine falls on every pipeline alike."""
    names = list(searches)
    for name in names:
        searches[name](questions[0])  # warm up
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, question in enumerate(questions):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            searches[name](question)
            times[name].append(time.perf_counter() - started)
    return {name: Latency.of(t) for name, t in times.items()}
