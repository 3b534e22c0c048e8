"""Timers, memory and disk figures, and the machine's own limits (memory bandwidth, matmul FLOP/s)."""

from __future__ import annotations

import contextlib
import datetime
import inspect
import os
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.evaluate import percentiles


@dataclass(frozen=True)
class Latency:
    """p50/p95 (nearest rank) of n timings, in milliseconds."""

    p50_ms: float
    p95_ms: float
    n: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        # rag.evaluate.percentiles rounds to 0.1; fed microseconds it keeps sub-millisecond stages visible.
        if not seconds:
            raise ValueError("no timings to summarize")
        p = percentiles([s * 1e6 for s in seconds])
        return cls(round(p["p50"] / 1000, 4), round(p["p95"] / 1000, 4), int(p["n"]))


@dataclass(frozen=True)
class Machine:
    """What the figures were measured on."""

    date: str
    cpus: int
    memory_gib: float
    cpu_model: str
    python: str
    torch: str
    faiss: str
    numpy: str
    load_average: tuple[float, float, float]


def machine() -> Machine:
    import faiss
    import torch

    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu_model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor())
    return Machine(
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        cpus=os.cpu_count() or 0,
        memory_gib=round(total_kb / 1024**2, 1),
        cpu_model=cpu_model,
        python=platform.python_version(),
        torch=torch.__version__,
        faiss=faiss.__version__,
        numpy=np.__version__,
        load_average=os.getloadavg(),
    )


@dataclass(frozen=True)
class Limits:
    """The machine's measured ceilings that physical bounds are computed from.

    Attributes:
        bandwidth_gbs: Memory traffic (read + write) of one thread copying a 256 MiB float32 array, best of 5.
        matmul_gflops: torch float32 matmul 1024x1024x1024 on all of torch's threads, best of 5.
        torch_threads: The threads torch used (the embedder runs on the same).
    """

    bandwidth_gbs: float
    matmul_gflops: float
    torch_threads: int


def limits() -> Limits:
    import torch

    src = np.ones(64 * 1024**2, dtype=np.float32)
    dst = np.empty_like(src)
    copy = min(_timed(lambda: np.copyto(dst, src)) for _ in range(5))
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.matmul(a, b)
    matmul = min(_timed(lambda: torch.matmul(a, b)) for _ in range(5))
    return Limits(
        bandwidth_gbs=round(2 * src.nbytes / copy / 1e9, 2),
        matmul_gflops=round(2 * 1024**3 / matmul / 1e9, 1),
        torch_threads=torch.get_num_threads(),
    )


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def peak_rss_mb() -> float:
    """The process's high-water resident set (VmHWM): monotonic, so it covers everything run so far.

    Not ru_maxrss: Linux carries that over fork and exec, so a spawned child would report its parent's peak.
    """
    return _status_mb("VmHWM")


def rss_mb() -> float:
    """The process's resident set now (VmRSS)."""
    return _status_mb("VmRSS")


def disk_bytes(folder: Path) -> dict[str, int]:
    """Bytes per top-level entry of `folder` (a folder counts all files under it), plus "total"."""
    sizes = {}
    for entry in sorted(folder.iterdir()):
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        sizes[entry.name] = sum(p.stat().st_size for p in files)
    sizes["total"] = sum(sizes.values())
    return sizes


class CallTimer:
    """Adds up the time spent in chosen functions while active, by temporarily wrapping them.

    Used to split `rag.build.update_index` into chunking, embedding, BM25, FAISS and the rest without
    touching the library: the wrappers call the originals and are removed on exit.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._inside = False  # a wrapped call made inside another counts in the outer one only

    @contextlib.contextmanager
    def wrap(self, targets: dict[str, tuple[Any, str]]) -> Iterator[CallTimer]:
        """Wraps `getattr(owner, attribute)` for each `label: (owner, attribute)`."""
        saved = []
        try:
            for label, (owner, attribute) in targets.items():
                saved.append((owner, attribute, inspect.getattr_static(owner, attribute)))
                setattr(owner, attribute, self._timed(label, getattr(owner, attribute)))
            yield self
        finally:
            for owner, attribute, original in reversed(saved):
                setattr(owner, attribute, original)

    def _timed(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._inside:  # e.g. store.load building the exact FAISS index: part of "load_previous"
                return fn(*args, **kwargs)
            self._inside, started = True, time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._inside = False
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1

        return timed


def build_timer() -> tuple[CallTimer, dict[str, tuple[Any, str]]]:
    """A CallTimer and the library functions an index build spends its time in."""
    from rag import build, store
    from rag.keyword import KeywordIndex

    targets = {
        "load_previous": (store, "load"),
        "chunk": (build, "chunk_document"),
        "bm25": (KeywordIndex, "build"),
        "faiss": (store, "build_faiss"),
    }
    return CallTimer(), targets
