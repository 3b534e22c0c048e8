"""Index measurements shared by the shipped and the synthetic corpora: build, update, load, size, search stages."""

from __future__ import annotations

import hashlib
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from measure import Latency, build_timer, disk_bytes

from rag import store
from rag.build import update_index
from rag.config import ChunkConfig
from rag.embed import Embedder, normalize
from rag.search import Retriever, clean_question
from rag.types import Document

E5_DIM = 384


class TimedEmbedder:
    """Wraps an embedder, adding up the time and the number of passages it embeds."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.seconds = 0.0
        self.passages = 0

    @property
    def id(self) -> str:
        return self.inner.id

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self.inner.embed_passages(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.passages += len(texts)


class RandomEmbedder:
    """Stands in for the embedder at sizes it cannot reach here: a unit vector seeded by the text's sha256.

    Its vectors carry no meaning, so dense *accuracy* is not measured with it, but FAISS costs the same
    whatever the vectors hold (an exact search scans every one of them).
    """

    def __init__(self, dim: int = E5_DIM):
        self.dim = dim

    @property
    def id(self) -> str:
        return f"synthetic-random-unit-{self.dim}"

    def _embed(self, texts: list[str], prefix: str) -> np.ndarray:
        seeds = [int.from_bytes(hashlib.sha256((prefix + t).encode()).digest()[:8], "little") for t in texts]
        vectors = [np.random.default_rng(s).standard_normal(self.dim, dtype=np.float32) for s in seeds]
        return normalize(np.stack(vectors)) if vectors else np.zeros((0, self.dim), dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, "query: ")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, "passage: ")


@dataclass(frozen=True)
class Update:
    """One `update_index` call, timed.

    Attributes:
        seconds: Wall time of the whole call.
        parts: Seconds in chunking, embedding, BM25, FAISS and loading the previous index; "other" is the
            rest (writing files, fsync, the embedding cache, hashing).
    """

    seconds: float
    chunks: int
    embedded: int
    written: bool
    parts: dict[str, float] = field(default_factory=dict)


def timed_update(index_dir: Path, documents: list[Document], embedder: Embedder, rebuild: bool = False) -> Update:
    """Runs `rag.build.update_index` with the default chunker and a flat FAISS index, split into parts."""
    timer, targets = build_timer()
    timed = TimedEmbedder(embedder)
    with timer.wrap(targets):
        started = time.perf_counter()
        report = update_index(index_dir, documents, timed, ChunkConfig(), "Flat", rebuild=rebuild)
        seconds = time.perf_counter() - started
    parts = {label: round(timer.seconds.get(label, 0.0), 4) for label in targets}
    parts["embed"] = round(timed.seconds, 4)
    parts["other"] = round(max(0.0, seconds - sum(parts.values())), 4)
    return Update(round(seconds, 4), report.chunks, report.embedded, report.written, parts)


@dataclass(frozen=True)
class Stored:
    """The index as it lies on disk and how long it takes to load.

    Attributes:
        load_s: Median of `repeats` calls of `rag.store.load` (page cache warm: the files were just written).
        disk: Bytes per file of the current generation, plus "total".
    """

    load_s: float
    load_s_min: float
    repeats: int
    disk: dict[str, int]


def stored(index_dir: Path, repeats: int = 3) -> Stored:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        store.load(index_dir)
        times.append(time.perf_counter() - started)
    path = store.current(index_dir)
    assert path is not None, "stored() is called after a build"
    return Stored(round(statistics.median(times), 4), round(min(times), 4), repeats, disk_bytes(path))


@dataclass(frozen=True)
class Approximate:
    """An approximate FAISS index over the same vectors, against exact search.

    Attributes:
        recall: Of the exact top k, the share the approximate top k finds, averaged over the queries.
        build_s: Time to build it (train and add every vector).
    """

    factory: str
    ef_search: int
    k: int
    recall: float
    build_s: float
    latency: Latency


def approximate_search(
    index: store.Index,
    queries: np.ndarray,
    factory: str = "HNSW32",
    ef_search: Sequence[int] = (16, 64, 256),
    k: int = 10,
) -> list[Approximate]:
    """Builds `factory` over the index's vectors and measures its recall@k and latency per efSearch setting."""
    import faiss

    started = time.perf_counter()
    approximate = store.build_faiss(np.ascontiguousarray(index.vectors), factory)
    build_s = time.perf_counter() - started
    exact = [{row for row, _ in index.search(q, k)} for q in queries]
    results = []
    for ef in ef_search:
        faiss.ParameterSpace().set_index_parameter(approximate, "efSearch", ef)
        found, times = [], []
        for query, truth in zip(queries, exact, strict=True):
            started = time.perf_counter()
            _, rows = approximate.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
            times.append(time.perf_counter() - started)
            found.append(len(truth & set(rows[0].tolist())) / len(truth))
        recall = round(float(np.mean(found)), 4)
        results.append(Approximate(factory, ef, k, recall, round(build_s, 3), Latency.of(times)))
    return results


STAGES = ("embed_query", "keyword", "dense", "fusion", "first_stage", "rerank")


def stage_latencies(retriever: Retriever, questions: Sequence[str], rerank: int = 0) -> dict[str, Latency]:
    """Times each search stage alone, question by question, from a warm process.

    "first_stage" is `Retriever.stages(rerank=False)` end to end (what `rag eval` reports as the first
    stage); the others time the same steps one by one. "rerank" judges the fused top candidates of the
    first `rerank` questions (about 1 s a pair with the default judge).
    """
    if not questions:
        raise ValueError("no questions to time")
    retriever.stages(list(questions[:3]), rerank=False)  # warm up: lazy models, mmap'd BM25 pages
    depth = retriever.config.depth
    times: dict[str, list[float]] = defaultdict(list)

    def clock(stage: str, started: float) -> float:
        now = time.perf_counter()
        times[stage].append(now - started)
        return now

    for i, question in enumerate(questions):
        q = clean_question(question)
        t = time.perf_counter()
        vector = retriever.embedder.embed_queries([q])[0]
        t = clock("embed_query", t)
        keyword = retriever.index.keyword.search(q, depth)
        t = clock("keyword", t)
        dense = retriever.index.search(vector, depth)
        t = clock("dense", t)
        fused = retriever.combine(keyword, dense)
        t = clock("fusion", t)
        retriever.stages([question], rerank=False)
        t = clock("first_stage", t)
        if i < rerank and retriever.reranker is not None and fused:
            retriever.rerank(q, fused)
            clock("rerank", t)
    return {stage: Latency.of(times[stage]) for stage in STAGES if times[stage]}
