"""Dense search in Milvus (`store.backend = "milvus"`): each index generation's vectors in a collection of its own.

With `store.uri = ""` the collection lives in a Milvus Lite file inside the generation's folder. Milvus Lite
lets one process open a file, and here the writer (`rag index`) and the readers (`rag serve`) are different
processes: a generation's file is written once by the build, then only read, so no two processes open it at
once, and the CURRENT pointer swaps generations exactly as for FAISS. With a server URI
("http://host:19530"; the token, if any, in RAG_MILVUS_TOKEN) the collection is on the server, named after the
generation, and dropped when the generation is. Chunk records, the manifest and the BM25 index stay in the
generation's folder either way: search needs them in memory, and Milvus would only hold copies.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import RagError

LITE_FILE = "vectors.db"
# Milvus Lite logs a traceback when it cannot open a file; `client` says what went wrong in one line instead.
logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
FIELD, BATCH = "vector", 1000


def collection(generation: Path) -> str:
    """The collection of a generation folder ("gen-x1y2" -> "rag_gen_x1y2")."""
    return "rag_" + generation.name.replace("-", "_")


def client(uri: str, generation: Path) -> Any:
    """A client of the server at `uri`, or of the generation's Milvus Lite file when `uri` is ""."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise RagError("store.backend = 'milvus' needs pymilvus: pip install -e '.[milvus]'") from None
    target = uri or str(generation / LITE_FILE)
    try:
        return MilvusClient(target, token=os.environ.get("RAG_MILVUS_TOKEN", ""))
    except Exception as e:  # pymilvus raises its own exception types for every connection failure
        if not uri:
            raise RagError(
                f"cannot open the Milvus Lite file {target}: Milvus Lite lets one process search an index, and "
                "another (`rag serve`?) may have it open; stop it, or set store.uri to a Milvus server to share it"
            ) from None
        raise RagError(f"cannot reach Milvus at {target} ({e}); check store.uri and RAG_MILVUS_TOKEN") from None


def write(generation: Path, vectors: np.ndarray, uri: str) -> dict[str, str]:
    """Writes the vectors (row i with id i) to the generation's collection, searched exactly by inner product;
    returns what the manifest records to open it again."""
    milvus, name = client(uri, generation), collection(generation)
    schema = milvus.create_schema(auto_id=False)
    from pymilvus import DataType

    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field(FIELD, DataType.FLOAT_VECTOR, dim=int(vectors.shape[1]))
    index = milvus.prepare_index_params()
    index.add_index(field_name=FIELD, index_type="FLAT", metric_type="IP")  # exact, as FAISS's Flat
    milvus.create_collection(name, schema=schema)
    # Not waited for here: waiting asks the server for a timestamp, which Milvus Lite does not implement;
    # loading the collection to search it waits for its index anyway.
    milvus.create_index(name, index, sync=False)
    for start in range(0, len(vectors), BATCH):
        rows = vectors[start : start + BATCH]
        milvus.insert(name, [{"id": start + i, FIELD: row.tolist()} for i, row in enumerate(rows)])
    if uri:  # a server counts rows in sealed segments only
        milvus.flush(name)
    milvus.close()
    if not uri:  # closing a client leaves Milvus Lite holding the file: release it for the processes that search
        _release(str(generation / LITE_FILE))
    return {"backend": "milvus", "uri": uri, "collection": name}


# The searchers of each Milvus Lite file in this process: its server is released when the last one is gone.
_searchers: Counter[str] = Counter()


def _release(path: str) -> None:
    """Stops this process's Milvus Lite server of `path`, so the file is free for another process."""
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(path)


def _searcher_gone(path: str) -> None:
    _searchers[path] -= 1
    if _searchers[path] <= 0:
        del _searchers[path]
        _release(path)


def drop(generation: Path, uri: str) -> None:
    """Drops a removed generation's collection from the server (a Lite file went with its folder)."""
    if uri:
        milvus, name = client(uri, generation), collection(generation)
        if milvus.has_collection(name):
            milvus.drop_collection(name)
        milvus.close()


class MilvusDense:
    """A generation's collection, searched as `store.DenseIndex`: (scores, rows) best first, -1 padding.

    It connects at the first search, not when the index is loaded: a build reads the previous generation's
    chunks and vectors but never searches them, so `rag index` runs while `rag serve` holds that generation's
    Milvus Lite file open. A Lite file is released when no index of this process searches it any more.
    """

    def __init__(self, generation: Path, dense: dict[str, str], rows: int):
        self.generation, self.uri, self.name = generation, dense["uri"], dense["collection"]
        self.ntotal = rows
        self._client: Any = None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._client is None:
            self._client = client(self.uri, self.generation)
            self._client.load_collection(self.name)
            if not self.uri:  # a page that swaps in a new index each day must not keep every old file open
                path = str(self.generation / LITE_FILE)
                _searchers[path] += 1
                weakref.finalize(self, _searcher_gone, path)
        found = self._client.search(self.name, data=queries.tolist(), limit=k, search_params={"metric_type": "IP"})
        scores, rows = np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64)
        for q, hits in enumerate(found):
            for j, hit in enumerate(hits):
                scores[q, j], rows[q, j] = hit["distance"], hit["id"]
        return scores, rows
