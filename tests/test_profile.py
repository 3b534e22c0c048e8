"""The full-size profile (configs/full.toml) end to end through the CLI, with its three hub models replaced by
tiny random-weight Qwen3 models built here: the embedder, the Qwen3-Reranker-style judge and the transformers
generator run the same code as with the real ones, and no hub is needed."""

from __future__ import annotations

import json
from pathlib import Path

from rag.generate import TransformersGenerator
from rag.rerank import TransformersReranker
from tests.conftest import CHAT_TEMPLATE, run_cli, save_tiny_chat_lm, save_tiny_embedder

FULL = Path(__file__).resolve().parent.parent / "configs" / "full.toml"
WORDS = "video generation long minutes VidGen yes no 视 频 生 成 answer question passage judge".split()


def test_the_full_profile_indexes_and_answers(tmp_path, corpus, monkeypatch, capsys):
    models = {
        "EMBED": save_tiny_embedder(tmp_path / "embed", WORDS),
        "RERANK": save_tiny_chat_lm(tmp_path / "judge", WORDS),
        "GENERATE": save_tiny_chat_lm(tmp_path / "chat", WORDS, CHAT_TEMPLATE),
    }
    for section, path in models.items():
        monkeypatch.setenv(f"RAG_{section}__MODEL", str(path))
    monkeypatch.setenv("RAG_EMBED__DIMENSION", "16")  # the tiny embedder is 32 wide; full.toml asks 1024
    monkeypatch.setenv("RAG_INDEX__DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_CORPUS__PATHS", str(corpus))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    called = []
    for cls, name in ((TransformersGenerator, "stream"), (TransformersReranker, "score")):
        real = getattr(cls, name)
        monkeypatch.setattr(cls, name, lambda self, *a, real=real, name=name: called.append(name) or real(self, *a))

    def rag(*args: str) -> tuple[int, str]:
        code, out, err = run_cli(monkeypatch, capsys, "--config", str(FULL), *args)
        return code, out + err

    code, out = rag("index")
    assert code == 0 and "2 added" in out, out
    code, out = rag("ask", "VidGen 视频生成多长？", "--json")
    assert code == 0, out
    line = json.loads(out.splitlines()[-1])
    assert isinstance(line["answerable"], bool) and line["answer"]
    assert line["answerable"] != bool(line["decline_reason"]) and line["answer"].startswith(line["reply"])
    # Answered or declined, the closest passages come from the corpus, reranked by the judge.
    assert {p["source"] for p in line["passages"]} <= {"daily-2026-01-05.md", "weekly-2025-06.txt"}
    assert line["passages"] and {"stream", "score"} <= set(called)
