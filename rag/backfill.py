"""Embedding for large builds: the configured embedder in several local processes, or on a Ray cluster.

Each worker builds the embedder from the same configuration, so the vectors are the ones a plain build
writes (up to float rounding), the id is the same, and an index built one way is updated the other way.
Both want large calls: `texts_per_call` tells `build.update_index` how many texts to hand over at once.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context
from urllib.parse import urlsplit

import numpy as np

from rag.config import EmbedConfig
from rag.embed import Embedder, SentenceTransformerEmbedder
from rag.errors import ConfigError, RagError

_worker: SentenceTransformerEmbedder | None = None  # the embedder of a pool process


def _start_worker(config: EmbedConfig, threads: int) -> None:
    import torch

    global _worker
    torch.set_num_threads(threads)  # the workers share the cores instead of each taking them all
    _worker = SentenceTransformerEmbedder(config)


def _embed_in_worker(texts: list[str]) -> np.ndarray:
    assert _worker is not None, "the pool's initializer builds the embedder"
    return _worker.embed_passages(texts)


class _Spread:
    """An embedder whose passages are embedded elsewhere: its id and its queries are the local embedder's."""

    def __init__(self, local: SentenceTransformerEmbedder, workers: int):
        self.local, self.workers = local, workers

    @property
    def id(self) -> str:
        return self.local.id

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.local.embed_queries(texts)

    def _export_here(self) -> None:
        """Loads the local embedder if it runs in ONNX Runtime: a first export is then made once, here, and
        not by every worker of this machine at the same time."""
        if self.local.config.backend == "onnx":
            self.local.embed_passages([])


class ProcessEmbedder(_Spread):
    """Passages embedded by `workers` local processes, each holding the model."""

    texts_per_call = 256

    def __init__(self, local: SentenceTransformerEmbedder, workers: int):
        super().__init__(local, workers)
        threads = max(1, (os.cpu_count() or 1) // workers)
        self._pool = ProcessPoolExecutor(
            workers, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(local.config, threads)
        )

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return self.local.embed_passages(texts)
        self._export_here()
        parts = [list(part) for part in np.array_split(np.array(texts, dtype=object), self.workers) if len(part)]
        try:
            return np.concatenate(list(self._pool.map(_embed_in_worker, parts)))
        except BrokenProcessPool:
            raise RagError(
                "an embedding worker died (out of memory?); run `rag index` again with fewer --workers"
            ) from None

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


class _RayEmbed:
    """The Ray Data stage: one embedder per actor, built once, fed batches of passages."""

    def __init__(self, config: EmbedConfig):
        self.embedder = SentenceTransformerEmbedder(config)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"row": batch["row"], "vector": self.embedder.embed_passages(list(batch["text"]))}


class RayEmbedder(_Spread):
    """Passages embedded by Ray Data: `workers` actors of one CPU each hold the model, on the cluster
    RAY_ADDRESS names, else on a Ray started here for the build. The vectors come back to this process, which
    writes the index as a plain build does. Each call is one Ray Data job whose actors load the model anew,
    hence the large calls.
    """

    texts_per_call = 20_000

    def __init__(self, local: SentenceTransformerEmbedder, workers: int):
        self.address = os.environ.get("RAY_ADDRESS") or "local"
        os.environ.setdefault("RAY_DATA_LOG_LEVEL", "ERROR")  # `rag index` reports progress itself
        if self.address == "local":
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # it would try to reach the network
            if "RAY_AUTH_MODE" not in os.environ:  # a token of this build's own, not one written to ~/.ray
                os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
        try:
            import ray  # noqa: F401  (Ray reads the settings above when it is imported)
        except ImportError:
            raise ConfigError("--ray needs Ray: pip install 'digest-rag[ray]'") from None
        super().__init__(local, workers)
        self._started = False

    def _start(self) -> None:
        import ray

        if ray.is_initialized():
            return
        if self.address == "local":  # on loopback, with an object store of 512 MB instead of 30% of the RAM
            ray.init(
                "local",
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                object_store_memory=512 * 2**20,
                _node_ip_address="127.0.0.1",
            )
        else:
            _check_reachable(self.address)
            try:
                ray.init(self.address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
            except (ConnectionError, ValueError) as e:
                raise RagError(f"cannot reach Ray at RAY_ADDRESS={self.address} ({e}); check the address") from None
        self._started = True
        with warnings.catch_warnings():  # Ray's first DataContext warns about its own deprecated fields
            warnings.simplefilter("ignore", DeprecationWarning)
            context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # `rag index` shows its own
        context.print_on_execution_start = False

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        import ray

        if not texts:
            return self.local.embed_passages(texts)
        self._export_here()
        self._start()
        batch = 64
        # By length, so a batch pads little; the row numbers put the vectors back in order.
        rows = sorted(range(len(texts)), key=lambda row: len(texts[row]))
        items = ray.data.from_items(
            [{"row": row, "text": texts[row]} for row in rows],
            override_num_blocks=max(self.workers, len(texts) // batch),
        )
        embedded = items.map_batches(
            _RayEmbed,
            fn_constructor_kwargs={"config": self.local.config},
            batch_size=batch,
            batch_format="numpy",
            num_cpus=1,
            # One batch in flight per actor, else the first actor up takes every queued batch.
            compute=ray.data.ActorPoolStrategy(size=self.workers, max_tasks_in_flight_per_actor=1),
        )
        try:
            parts = list(embedded.iter_batches(batch_size=None, batch_format="numpy"))
        except ray.exceptions.RayError as e:  # a worker's error comes wrapped, its traceback in the text
            raised = [line for line in str(e).splitlines() if re.match(r"[\w.]+Error: ", line)]
            reason = raised[-1].split(": ", 1)[1] if raised else str(e).strip().splitlines()[0]
            raise RagError(f"the Ray embedding job failed: {reason}") from None
        vectors = np.concatenate([part["vector"] for part in parts]).astype(np.float32)
        ordered = np.empty_like(vectors)
        ordered[np.concatenate([part["row"] for part in parts])] = vectors
        return ordered

    def close(self) -> None:
        import ray

        if self._started:
            ray.shutdown()


def _check_reachable(address: str) -> None:
    """Raises a one-line RagError when nothing answers at a `host:port` or `ray://host:port` address: Ray
    itself would retry for minutes. Other forms ("auto") are left to Ray, which fails at once."""
    parsed = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:  # a port that is not a number
        host, port = None, None
    if not host or not port:
        return
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as e:
        raise RagError(
            f"cannot reach Ray at RAY_ADDRESS={address}: nothing answers at {host}:{port} ({e}); check the "
            "address and that the cluster is up"
        ) from None


@contextmanager
def spread(embedder: SentenceTransformerEmbedder, workers: int = 1, ray: bool = False) -> Iterator[Embedder]:
    """`embedder`, or, given more than one worker or Ray, one that embeds its passages in `workers` local
    processes or Ray actors (each building the embedder from its configuration)."""
    if workers < 1:
        raise ConfigError(f"--workers must be 1 or more (got {workers})")
    if not ray and workers == 1:
        yield embedder
        return
    spread = RayEmbedder(embedder, workers) if ray else ProcessEmbedder(embedder, workers)
    try:
        yield spread
    finally:
        spread.close()
