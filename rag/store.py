"""The index on disk: a FAISS index (or a Milvus collection, rag/milvus.py), its vectors, chunk records and a
manifest, swapped in atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag import milvus
from rag.config import StoreConfig
from rag.errors import IndexFormatError, IndexMismatchError, IndexMissingError, RagError
from rag.keyword import KeywordIndex
from rag.types import Chunk

logger = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 2: the keyword index stores term counts (rag.keyword.VERSION); 3: chunks carry `flags`
# CURRENT names the generation folder readers use; a new generation is written in full, then CURRENT is
# replaced in one rename, so a crash at any point leaves the previous index loadable (as LevelDB does).
POINTER = "CURRENT"
FILES = ("manifest.json", "chunks.jsonl", "vectors.npy")
KEYWORD_DIR = "bm25"
# Only an approximate index is saved as a FAISS file: the exact one ("Flat") would be a second copy of
# vectors.npy, so it is rebuilt from the vectors at load (a copy in memory, about 0.1 s per 100k chunks).
FAISS_FILE = "faiss.index"
EXACT = "Flat"
# index.factory "auto": exact search up to EXACT_LIMIT chunks, an HNSW graph beyond. On 2 cores an exact scan
# reads N x 384 x 4 bytes per question: 5.5-8 ms at 100k chunks (make bench), so some 55-80 ms at 1M.
EXACT_LIMIT = 1_000_000
APPROXIMATE = "HNSW32"
# Candidates an HNSW search keeps (FAISS's default is 16); saved with the index. On real e5 vectors the graph
# misses a share of exact search's top 10 that shrinks as this grows, at a fraction of a millisecond a query
# (docs/results/recall.md, bench/recall.py): the larger setting is worth its cost.
EF_SEARCH = 256


def choose_factory(factory: str, chunks: int) -> str:
    """The FAISS index_factory string to build: `factory` itself, or for "auto" one chosen by size."""
    if factory != "auto":
        return factory
    return EXACT if chunks <= EXACT_LIMIT else APPROXIMATE


class DenseIndex(Protocol):
    """What search needs from a vector index: a FAISS index here. A collection in a vector database (Qdrant,
    Milvus) wrapped in a class with these two members would serve the same callers."""

    ntotal: int

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the k nearest vectors for each query row, best first; row -1 pads a short result."""
        ...


@dataclass(frozen=True)
class Index:
    """A loaded index. `vectors[i]` and FAISS row i belong to `chunks[i]`."""

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: DenseIndex
    keyword: KeywordIndex

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Returns (row, inner product) pairs for the k nearest chunks, best first."""
        k = min(k, len(self.chunks))
        if k == 0:
            return []
        scores, rows = self.faiss_index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


def current(index_dir: Path) -> Path | None:
    """The generation folder CURRENT names (None before the first build): what `load` would read now."""
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return index_dir / name


def exists(index_dir: Path) -> bool:
    return current(index_dir) is not None


def build_faiss(vectors: np.ndarray, factory: str) -> Any:
    """Builds a FAISS inner-product index over normalized vectors from an index_factory string."""
    import faiss

    dim = vectors.shape[1]
    try:
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as e:
        raise RagError(f"index.factory '{factory}' is not a valid FAISS index_factory string ({e})") from None
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = EF_SEARCH
    return index


def load(index_dir: Path) -> Index:
    """Loads the current generation of the index in `index_dir`.

    Raises:
        IndexMissingError: no index has been built there.
        IndexFormatError: the index is from another format version.
        IndexMismatchError: the index is damaged.
    """
    import faiss

    path = current(index_dir)
    if path is None:
        raise IndexMissingError(f"no index in {index_dir}/; build it with `rag index`")
    repair = "run `rag index --rebuild` to rebuild it"
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexFormatError(
                f"index in {index_dir}/ has format version {manifest.get('format_version')}, "
                f"this program reads version {FORMAT_VERSION}; {repair}"
            )
        with open(path / "chunks.jsonl", encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        chunks = [Chunk(**{**record, "flags": tuple(record["flags"])}) for record in records]
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
        dense = manifest.get("dense", {"backend": "faiss"})
        faiss_index: DenseIndex
        if dense["backend"] == "milvus":
            faiss_index = milvus.MilvusDense(path, dense, len(vectors))
        elif manifest.get("index_factory", EXACT) == EXACT:
            faiss_index = build_faiss(np.ascontiguousarray(vectors), EXACT)
        else:
            faiss_index = faiss.read_index(str(path / FAISS_FILE))
        keyword = KeywordIndex.load(path / KEYWORD_DIR)
    except IndexMismatchError:
        raise
    except (OSError, ValueError, TypeError, RuntimeError, KeyError, EOFError) as e:
        raise IndexMismatchError(f"index in {index_dir}/ is damaged ({type(e).__name__}: {e}); {repair}") from None
    counts = {len(chunks), vectors.shape[0], faiss_index.ntotal, manifest.get("chunks"), keyword.size}
    if len(counts) != 1:
        raise IndexMismatchError(f"index in {index_dir}/ is damaged (its files disagree on the chunk count); {repair}")
    return Index(path, manifest, chunks, vectors, faiss_index, keyword)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(
    index_dir: Path,
    manifest: dict[str, Any],
    chunks: list[Chunk],
    vectors: np.ndarray,
    factory: str,
    previous: Index | None = None,
    dense: StoreConfig | None = None,
) -> Path:
    """Writes a new generation and makes it current in one atomic rename.

    The dense vectors are searched by FAISS, or by a Milvus collection of this generation's (`dense`).

    The keyword index takes the rows of chunks whose text `previous` (the index being updated) already
    holds, so only new text is tokenized.

    The generation it replaces stays on disk until the next save, so a reader that resolved CURRENT a
    moment ago can still finish loading it.
    """
    import faiss

    replaced = current(index_dir)
    dense = dense or StoreConfig()
    index_dir.mkdir(parents=True, exist_ok=True)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    manifest = {**manifest, "format_version": FORMAT_VERSION, "chunks": len(chunks), "built_at": time.time()}
    gen = Path(tempfile.mkdtemp(prefix="gen-", dir=index_dir))
    try:
        with open(gen / "chunks.jsonl", "w", encoding="utf-8") as f:
            for chunk in chunks:
                f.write(json.dumps(dataclasses.asdict(chunk), ensure_ascii=False) + "\n")
        np.save(gen / "vectors.npy", vectors)
        if dense.backend == "milvus":
            manifest["dense"] = milvus.write(gen, vectors, dense.uri)
        elif factory != EXACT:  # the exact index is built at load, from vectors.npy
            faiss.write_index(build_faiss(vectors, factory), str(gen / FAISS_FILE))
        old_rows = {c.embed_hash: row for row, c in enumerate(previous.chunks)} if previous is not None else {}
        reuse = [old_rows.get(c.embed_hash) for c in chunks]
        keyword = KeywordIndex.build([c.embed_text for c in chunks], previous.keyword if previous else None, reuse)
        keyword.save(gen / KEYWORD_DIR)
        _write_json(gen / "manifest.json", manifest)
        for written in gen.rglob("*"):
            if written.is_file():
                with open(written, "rb+") as f:
                    os.fsync(f.fileno())
        pointer = index_dir / f".{POINTER}.tmp"
        pointer.write_text(gen.name, encoding="utf-8")
        os.replace(pointer, index_dir / POINTER)
        _fsync_dir(index_dir)
    except BaseException:
        _discard(gen, dense)
        raise
    for old in index_dir.glob("gen-*"):
        if old not in (gen, replaced):
            _discard(old, dense)
    logger.info("wrote index generation %s (%d chunks)", gen.name, len(chunks))
    return gen


def _discard(generation: Path, dense: StoreConfig) -> None:
    """Removes a generation folder and, on a Milvus server, its collection: on the server its manifest names,
    or the configured one for a build that died before writing its manifest. A collection that cannot be
    dropped is logged, not raised: the index being written or kept is whole either way."""
    try:
        served = json.loads((generation / "manifest.json").read_text(encoding="utf-8")).get("dense", {})
    except (OSError, ValueError):
        served = {"backend": dense.backend, "uri": dense.uri}
    if served.get("backend") == "milvus":
        try:
            milvus.drop(generation, served.get("uri", ""))
        except Exception as e:  # a server's own errors, beside RagError
            logger.warning("could not drop the Milvus collection of %s: %s", generation.name, e)
    shutil.rmtree(generation, ignore_errors=True)


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """Holds an exclusive lock on `index_dir` so two builds never write at once.

    Raises:
        RagError: another build holds the lock.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RagError(f"another `rag index` is writing {index_dir}/; wait for it to finish") from None
        yield
