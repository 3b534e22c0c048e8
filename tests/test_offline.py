"""With every socket except loopback refused (and no HF_HUB_OFFLINE), index, search and ask still work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Limits socket connections and name lookups to this machine.
NO_NETWORK = """
import socket, sys

LOCAL = ("127.0.0.1", "::1", "localhost")
connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

def guarded_connect(self, address):
    if self.family != socket.AF_UNIX and address[0] not in LOCAL:
        raise OSError(f"network blocked by the test: {address}")
    return connect(self, address)

def guarded_getaddrinfo(host, *args, **kwargs):
    if host not in LOCAL:
        raise OSError(f"network blocked by the test: {host}")
    return getaddrinfo(host, *args, **kwargs)

socket.socket.connect, socket.getaddrinfo = guarded_connect, guarded_getaddrinfo
"""
RAG = NO_NETWORK + "from rag.cli import run\nsys.argv = ['rag', *sys.argv[1:]]\nrun()\n"


def test_the_guard_blocks_the_network():
    code = NO_NETWORK + "socket.create_connection(('pypi.org', 443), timeout=5)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "network blocked by the test: pypi.org" in done.stderr


@pytest.mark.slow
def test_index_search_and_ask_need_no_network(tmp_path):
    (tmp_path / "corpus").mkdir()
    shutil.copy(REPO / "corpus" / "ai-weekly-2025-06-ocr.txt", tmp_path / "corpus")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env |= {"RAG_CORPUS__PATHS": str(tmp_path / "corpus"), "RAG_INDEX__DIR": str(tmp_path / "index")}

    def rag(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", RAG, *args], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        assert "network blocked" not in done.stderr
        return done.stdout

    assert "added" in rag("index")
    assert "Qwen3" in rag("search", "Qwen3-Embedding 的 MTEB 得分", "--k", "3")
    assert rag("ask", "What does the weekly report say about Manus?")
