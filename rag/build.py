"""Build or update the index: only new or changed documents are chunked, only unseen text is embedded."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from rag import injection, store
from rag.chunk import chunk_document
from rag.config import ChunkConfig, StoreConfig
from rag.embed import Embedder
from rag.errors import CorpusError, IndexFormatError, IndexMismatchError
from rag.types import Chunk, Document

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BuildReport:
    """What an update did."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    chunks: int
    embedded: int
    written: bool


def _previous(index_dir: Path, embedder_id: str, rebuild: bool) -> store.Index | None:
    if rebuild or not store.exists(index_dir):
        return None
    try:
        index = store.load(index_dir)
    except IndexFormatError as e:  # the corpus holds everything the index does: rebuilding loses nothing
        logger.warning("%s; rebuilding it from the corpus", str(e).split(";")[0])
        return None
    built_by = index.manifest.get("embedder", {}).get("id")
    if built_by != embedder_id:
        raise IndexMismatchError(
            f"index in {index_dir}/ was built with embedder {built_by!r}, the configuration names {embedder_id!r}; "
            "run `rag index --rebuild`"
        )
    return index


def update_index(
    index_dir: Path,
    documents: list[Document],
    embedder: Embedder,
    chunking: ChunkConfig,
    factory: str = "auto",
    rebuild: bool = False,
    progress: Progress | None = None,
    dense: StoreConfig | None = None,
) -> BuildReport:
    """Brings the index in `index_dir` up to date with `documents`.

    Unchanged documents keep their chunks and vectors; a changed chunker setting re-chunks everything,
    but text embedded before is never embedded again. Nothing is written when nothing changed.

    Raises:
        CorpusError: there are no documents.
        IndexMismatchError: the existing index was built by another embedder.
    """
    if not documents:
        raise CorpusError("the corpus has no readable digests (.md, .txt, .pdf); add files or fix the path")
    with store.write_lock(index_dir):
        old = _previous(index_dir, embedder.id, rebuild)
        old_docs = old.manifest["documents"] if old else {}
        # A chunk's record holds its text and what the injection detector found in it: either changing re-chunks.
        chunker = {**asdict(chunking), "injection_detector": injection.VERSION}
        same_chunking = old is not None and old.manifest.get("chunker") == chunker
        current = {d.doc_id: d for d in documents}
        added = [i for i in current if i not in old_docs]
        removed = [i for i in old_docs if i not in current]
        changed = [i for i in current if i in old_docs and old_docs[i]["sha256"] != current[i].sha256]
        same_factory = old is not None and old.manifest.get("index_factory") == store.choose_factory(
            factory, len(old.chunks)
        )
        dense = dense or StoreConfig()
        served = old.manifest.get("dense", {"backend": "faiss"}) if old is not None else {}
        same_dense = served.get("backend") == dense.backend and served.get("uri", "") == (
            dense.uri if dense.backend == "milvus" else ""
        )
        if old is not None and same_chunking and same_factory and same_dense and not (added or removed or changed):
            return BuildReport([], [], [], len(current), len(old.chunks), 0, written=False)

        keep = {i for i in current if i not in added and i not in changed} if same_chunking else set()
        kept: dict[str, list[Chunk]] = defaultdict(list)
        for chunk in old.chunks if old is not None else []:
            if chunk.doc_id in keep:
                kept[chunk.doc_id].append(chunk)
        pieces = {i: kept[i] if i in keep else chunk_document(doc, chunking) for i, doc in current.items()}
        fresh = [c for i in current if i not in keep for c in pieces[i]]
        # The embedding cache: vectors of the previous index, keyed by the hash of the embedded text.
        cache: dict[str, np.ndarray] = {}
        if old is not None:
            cache = {c.embed_hash: old.vectors[row] for row, c in enumerate(old.chunks)}
        todo = sorted({c.embed_hash: c.embed_text for c in fresh if c.embed_hash not in cache}.items())
        work = len(fresh) + len(todo)  # progress counts chunks checked for orders, then embedded
        # Texts handed to the embedder at once: 32 keeps the progress bar moving; an embedder that spreads the
        # work over processes or a cluster (rag/backfill.py) asks for more.
        batch = getattr(embedder, "texts_per_call", 32)

        # New chunks are checked for orders to an AI reader: the patterns, and the learned head on each sentence.
        head = injection.Head.load(embedder.id)
        found: dict[str, list[str]] = {}
        for start in range(0, len(fresh), batch):
            part = fresh[start : start + batch]
            kinds = injection.detect([c.text for c in part], head, embedder.embed_passages)
            found.update(zip([c.chunk_id for c in part], kinds, strict=True))
            if progress:
                progress(start + len(part), work)
        chunks = [replace(c, flags=tuple(found.get(c.chunk_id, c.flags))) for i in current for c in pieces[i]]

        for start in range(0, len(todo), batch):
            pairs = todo[start : start + batch]
            vectors = embedder.embed_passages([text for _, text in pairs])
            cache.update(zip([h for h, _ in pairs], vectors, strict=True))
            if progress:
                progress(len(fresh) + min(start + batch, len(todo)), work)
        vectors = np.stack([cache[c.embed_hash] for c in chunks]).astype(np.float32)
        factory = store.choose_factory(factory, len(chunks))

        per_doc = Counter(c.doc_id for c in chunks)
        manifest = {
            "embedder": {"id": embedder.id, "dim": int(vectors.shape[1])},
            "chunker": chunker,
            "index_factory": factory,
            "documents": {
                i: {"sha256": d.sha256, "title": d.title, "date": d.date, "chunks": per_doc[i]}
                for i, d in current.items()
            },
        }
        store.save(index_dir, manifest, chunks, vectors, factory, old, dense)
        logger.info("indexed %d documents, %d chunks, %d embedded", len(current), len(chunks), len(todo))
        return BuildReport(added, changed, removed, len(keep), len(chunks), len(todo), written=True)
