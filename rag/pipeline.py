"""The one factory that builds the real pipeline from configuration."""

from __future__ import annotations

from pathlib import Path

from rag import store
from rag.config import Config
from rag.embed import SentenceTransformerEmbedder
from rag.search import Retriever


def make_embedder(config: Config) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(config.embed)


def make_reranker(config: Config):
    """The configured reranker (loaded lazily on first use), or None when rerank.backend is "none"."""
    if config.rerank.backend == "none":
        return None
    from rag.rerank import make_reranker as make

    return make(config.rerank)


def index_dir(config: Config) -> Path:
    return Path(config.index.dir)


def corpus_roots(config: Config, extra: list[Path] | None = None) -> list[Path]:
    return [Path(p) for p in config.corpus.paths] + list(extra or [])


def open_retriever(config: Config, rerank: bool | None = None) -> Retriever:
    """Loads the index and checks that it was built by the configured embedder (models load lazily).

    Args:
        rerank: Attach the reranker; None follows `search.rerank`.
    """
    rerank = config.search.rerank if rerank is None else rerank
    return Retriever(
        store.load(index_dir(config)),
        make_embedder(config),
        config.search,
        make_reranker(config) if rerank else None,
        config.rerank,
    )


def open_assistant(config: Config, rerank: bool | None = None, retriever: Retriever | None = None):
    """The retriever (opened here unless given) plus the configured generator and judge (loaded on first use).

    Args:
        rerank: Rerank before answering; None follows `answer.rerank`.
    """
    from rag.answer import Assistant
    from rag.generate import make_generator

    rerank = config.answer.rerank if rerank is None else rerank
    retriever = retriever or open_retriever(config, rerank)
    # The reranker also picks the quote (see `quote`); one that search already loaded serves both.
    judge = (retriever.reranker or make_reranker(config)) if config.answer.quote_candidates else None
    return Assistant(
        retriever, make_generator(config.generate), config.generate, config.answer, rerank=rerank, judge=judge
    )
