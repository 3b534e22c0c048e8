"""Faults injected into the real CLI: `rag index` killed with SIGKILL at random moments, two builds at once."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import store

REPO = Path(__file__).resolve().parent.parent
RAG = str(Path(sys.executable).parent / "rag")  # the console script of this environment
KILLS = 4


def rag_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "RAG_CORPUS__PATHS": str(tmp_path / "corpus"),
        "RAG_INDEX__DIR": str(tmp_path / "index"),
    }


def rag(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RAG, *args], env=rag_env(tmp_path), capture_output=True, text=True, timeout=600)


def chunk_ids(index_dir: Path) -> list[str]:
    return [c.chunk_id for c in store.load(index_dir).chunks]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["faiss", "milvus"])
def test_index_killed_at_random_moments_keeps_the_previous_index_and_then_finishes(tmp_path, monkeypatch, backend):
    """SIGKILL during an update (model loading, chunking, embedding, writing): each time the index on disk is
    the complete previous one or the complete new one, and a last run finishes the job; with either store."""
    monkeypatch.setenv("RAG_STORE__BACKEND", backend)
    (tmp_path / "corpus").mkdir()
    shutil.copy(REPO / "corpus" / "ai-weekly-2025-06-ocr.txt", tmp_path / "corpus")
    first = rag(tmp_path, "index")
    assert first.returncode == 0, first.stderr
    index_dir = tmp_path / "index"
    before = chunk_ids(index_dir)

    shutil.copy(REPO / "corpus" / "hf-daily-papers-2026-02-10.md", tmp_path / "corpus")
    rng = random.Random(7)
    switched = None
    for _ in range(KILLS):
        process = subprocess.Popen(
            [RAG, "index"],
            env=rag_env(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 25.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        after = chunk_ids(index_dir)  # loadable: raises otherwise
        if after != before:  # the kill came after the switch (possibly before the process exited)
            switched = after
            break
    last = rag(tmp_path, "index")
    assert last.returncode == 0, last.stderr
    final = chunk_ids(index_dir)
    assert set(before) < set(final)
    assert switched is None or switched == final  # an index seen after a kill was the whole new one
    assert any(c.doc_id.endswith("hf-daily-papers-2026-02-10.md") for c in store.load(index_dir).chunks)
    # half-written generations are cleaned up; the one replaced last stays for readers still loading it
    assert len(list(index_dir.glob("gen-*"))) <= 2

    search = rag(tmp_path, "search", "MOVA", "--k", "1", "--json")
    assert search.returncode == 0 and "hf-daily-papers-2026-02-10.md" in search.stdout


def lock_is_held(index_dir: Path) -> bool:
    """Reads /proc/locks (taking the lock to test it could make the first run fail instead of the second)."""
    lock = index_dir / ".lock"
    if not lock.exists():
        return False
    inode = f":{lock.stat().st_ino}"
    return any(line.split()[5].endswith(inode) for line in Path("/proc/locks").read_text().splitlines())


@pytest.mark.slow
def test_a_second_index_run_refuses_while_the_first_writes(tmp_path):
    (tmp_path / "corpus").mkdir()
    shutil.copy(REPO / "corpus" / "hf-daily-papers-2026-02-10.md", tmp_path / "corpus")
    first = subprocess.Popen([RAG, "index"], env=rag_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not lock_is_held(tmp_path / "index"):
            assert first.poll() is None and time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.2)
        second = rag(tmp_path, "index")
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"error: another `rag index` is writing {tmp_path / 'index'}/; wait for it to finish"
        ]
    finally:
        assert first.wait(timeout=600) == 0, first.stderr.read()
    assert store.load(tmp_path / "index").chunks
