"""Synthetic corpora at several sizes, each measured in a fresh process so its peak memory is its own."""

from __future__ import annotations

import multiprocessing
import random
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import synthetic
from indexing import (
    E5_DIM,
    Approximate,
    RandomEmbedder,
    Stored,
    Update,
    approximate_search,
    stage_latencies,
    stored,
    timed_update,
)
from measure import Latency, peak_rss_mb, rss_mb

from rag import store
from rag.config import SearchConfig
from rag.search import Retriever


@dataclass(frozen=True)
class ScaleRun:
    """One synthetic corpus: a real build (chunking, BM25, FAISS, files) over seeded random vectors.

    Attributes:
        size: The chunk count asked for; `chunks` is what the chunker made of the generated digests.
        build, unchanged, add_digest: `rag.build.update_index` from scratch, with nothing changed, and with one
            new digest of `digest_chunks` chunks; their "embed" part is the random stand-in's, not e5's.
        stored: Load time and bytes on disk (before the new digest was added).
        approximate: HNSW over the same vectors against exact search. The vectors are random, which is the
            hard case for a graph index (no clusters to follow), so its recall is a floor, not e5's.
        latency: Search stages over generated questions; "embed_query" is the stand-in's (the real one is
            measured on the shipped corpus), so "first_stage" excludes the real query embedding.
        rss_start_mb: Resident memory of the fresh process after its imports, before the corpus was generated.
        peak_rss_mb: Its high-water mark (VmHWM) at the end, the generated corpus text included.
    """

    size: int
    chunks: int
    documents: int
    digest_chunks: int
    generate_s: float
    build: Update
    unchanged: Update
    add_digest: Update
    stored: Stored
    latency: dict[str, Latency]
    approximate: list[Approximate]
    dense_scan_bytes: int
    rss_start_mb: float
    peak_rss_mb: float


def run_size(size: int, workdir: Path, queries: int, seed: int = 0, keep: bool = False) -> ScaleRun:
    """Generates about `size` chunks of digests, builds, updates, loads and searches their index."""
    rss_start = rss_mb()
    started = time.perf_counter()
    docs = synthetic.corpus(size, seed)
    extra = synthetic.new_digest(seed)
    writer, pick = synthetic.DigestWriter(seed + 3), random.Random(seed)
    questions = [writer.question(pick.choice(docs)) for _ in range(queries)]
    generate_s = time.perf_counter() - started

    index_dir = workdir / f"synthetic-{size}"
    embedder = RandomEmbedder(E5_DIM)
    build = timed_update(index_dir, docs, embedder, rebuild=True)
    on_disk = stored(index_dir)
    retriever = Retriever(store.load(index_dir), embedder, SearchConfig())
    latency = stage_latencies(retriever, questions)
    approximate = approximate_search(retriever.index, embedder.embed_queries(questions))
    del retriever
    unchanged = timed_update(index_dir, docs, embedder)
    added = timed_update(index_dir, [*docs, extra], embedder)
    if not keep:
        shutil.rmtree(index_dir, ignore_errors=True)
    return ScaleRun(
        size=size,
        chunks=build.chunks,
        documents=len(docs),
        digest_chunks=added.chunks - build.chunks,
        generate_s=round(generate_s, 3),
        build=build,
        unchanged=unchanged,
        add_digest=added,
        stored=on_disk,
        latency=latency,
        approximate=approximate,
        dense_scan_bytes=build.chunks * E5_DIM * 4,
        rss_start_mb=rss_start,
        peak_rss_mb=peak_rss_mb(),
    )


def run_in_child(size: int, workdir: Path, queries: int, seed: int = 0, keep: bool = False) -> ScaleRun:
    """`run_size` in a fresh (spawned) process: a process's peak memory never goes down."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_size, size, workdir, queries, seed, keep).result()
