"""The benchmark (bench/bench.py): its synthetic corpus, and a quick run end to end with the real models."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"


@pytest.fixture
def synthetic(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import synthetic

    return synthetic


def test_synthetic_corpus_is_seeded_digest_like_and_near_the_asked_size(synthetic):
    from rag.chunk import chunk_document
    from rag.config import ChunkConfig

    docs = synthetic.corpus(600, seed=7)
    assert [d.text for d in docs] == [d.text for d in synthetic.corpus(600, seed=7)]
    assert [d.text for d in docs] != [d.text for d in synthetic.corpus(600, seed=8)]
    chunks = sum(len(chunk_document(d, ChunkConfig())) for d in docs)
    assert 500 <= chunks <= 700
    first = docs[0]
    assert len(first.sections) == synthetic.PAPERS_PER_DIGEST and first.date
    assert any("\u4e00" <= ch <= "\u9fff" for ch in first.text) and any(ch.isdigit() for ch in first.text)
    new = synthetic.new_digest(seed=7)
    assert new.doc_id not in {d.doc_id for d in docs}


def test_call_timer_parts_are_disjoint(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import types

    from measure import CallTimer

    lib = types.SimpleNamespace()
    lib.inner = lambda: None
    lib.outer = lambda: lib.inner()
    timer = CallTimer()
    with timer.wrap({"outer": (lib, "outer"), "inner": (lib, "inner")}):
        lib.outer()  # the inner call is part of the outer one, not counted twice
        lib.inner()
    assert dict(timer.calls) == {"outer": 1, "inner": 1}


@pytest.mark.slow
def test_quick_bench_writes_sane_figures(tmp_path: Path):
    with_langchain = importlib.util.find_spec("langchain_community") is not None
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    command = [sys.executable, str(BENCH / "bench.py"), "--quick", "--json", str(out), "--plot", str(png)]
    run = subprocess.run(
        command + ([] if with_langchain else ["--no-langchain"]), capture_output=True, text=True, timeout=1200
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert png.stat().st_size > 10_000
    assert "Targets" in run.stdout and "synthetic 1,000" in run.stdout and "HNSW" in run.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert {"machine", "limits", "shipped", "synthetic", "targets", "notes"} <= result.keys()
    assert result["limits"]["bandwidth_gbs"] > 0 and result["limits"]["matmul_gflops"] > 0

    shipped = result["shipped"]
    index = shipped["index"]
    assert index["build"]["embedded"] == index["chunks"] > 0 and index["build"]["parts"]["embed"] > 0
    assert not index["unchanged"]["written"] and index["unchanged"]["embedded"] == 0
    assert 0 < index["add_digest"]["embedded"] < index["chunks"]
    assert all(shipped["latency"][s]["p50_ms"] > 0 for s in ("embed_query", "keyword", "dense", "fusion"))
    assert shipped["embedding"]["bound"]["passages_per_s_bound"] > 0
    for stage in ("keyword", "dense", "fused"):
        assert 0 <= shipped["accuracy"][stage]["hit@5"] <= 1 and 0 <= shipped["accuracy"][stage]["mrr@10"] <= 1
    assert shipped["answers"]["first_token"]["p50_ms"] <= shipped["answers"]["answer"]["p50_ms"]

    runs = result["synthetic"]
    assert [r["size"] for r in runs] == [200, 1000]
    small, large = runs
    assert large["chunks"] > small["chunks"] > 0
    assert large["stored"]["disk"]["total"] > small["stored"]["disk"]["total"] > 0
    assert large["stored"]["disk"]["vectors.npy"] >= large["chunks"] * 384 * 4
    for r in runs:
        assert r["build"]["seconds"] > 0 and r["stored"]["load_s"] > 0 and r["build_est_s"] > r["build"]["seconds"]
        assert r["latency"]["first_stage"]["p50_ms"] > 0 and r["peak_rss_mb"] > r["rss_start_mb"] > 0
        assert r["digest_chunks"] > 0 and r["add_digest"]["embedded"] == r["digest_chunks"]
        recalls = [a["recall"] for a in r["approximate"]]
        assert len(recalls) == 3 and all(0 < x <= 1 for x in recalls) and recalls[-1] >= recalls[0]

    if with_langchain:
        pipelines = result["baseline"]["pipelines"]
        assert {"ours", "langchain", "langchain-same-chunks"} <= pipelines.keys()
        for p in pipelines.values():
            assert 0 <= p["hit@5"] <= 1 and 0 <= p["mrr@10"] <= 1 and p["search"]["p50_ms"] > 0
        assert pipelines["langchain"]["build_s"] > 0
        assert result["baseline"]["ratios"]["ours / langchain"]["build_s"] > 0
    assert all(isinstance(t["met"], bool) for t in result["targets"]) and len(result["targets"]) >= 6


@pytest.mark.slow
def test_generator_bench_times_both_backends_on_the_same_prompts(tmp_path: Path):
    """bench/generators.py on one question: llama.cpp and transformers both read the default GGUF."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_INDEX__DIR": str(tmp_path / "index")}
    rag = str(Path(sys.executable).parent / "rag")
    built = subprocess.run([rag, "index"], env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    out = tmp_path / "generators.json"
    command = [sys.executable, str(BENCH / "generators.py"), "--questions", "1", "--json", str(out)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "decoding, tokens/s p50" in run.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    llama, hf = result["runs"]
    assert (llama["backend"], hf["backend"]) == ("llama-cpp", "transformers")
    # One tokenizer, read from the same file: the same prompt has the same length under both.
    assert llama["prompt_tokens_p50"] == hf["prompt_tokens_p50"] > 100
    for r in (llama, hf):
        assert r["load_s"] > 0 and r["tokens_per_s_p50"] > 0 and len(r["answers"]) == 1
        assert 0 < r["prefill"]["p50_ms"] <= r["first_token"]["p50_ms"] <= r["answer"]["p50_ms"]
    assert result["same_answer"] in (0, 1)
