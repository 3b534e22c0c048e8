"""Approximate dense search on real e5 vectors: recall@10 against exact search, and latency.

    .venv/bin/python bench/recall.py        # writes docs/results/recall.json and recall.md

The passages are two years of synthetic daily and weekly reports (`bench/digests.py`, seed 0) chunked as the
index chunks them, embedded with the offline default e5 (float32), as `rag index` would: about 11,000, some
12 minutes on 2 cores (`--vectors FILE` keeps them, so a second run reuses them). The queries are every
question of eval/ and the digest question sets, embedded as queries. Each approximate index is measured at
several search-time settings: recall@10 (the share of exact search's top 10 it finds) and p50 latency of one
query, beside exact search's over the same vectors. `bench/scale.py` measures the same on random vectors.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import digests  # noqa: E402
from answer_report import RESULTS, commit, machine, write_results  # noqa: E402
from measure import Latency  # noqa: E402

from rag import store  # noqa: E402
from rag.chunk import chunk_document  # noqa: E402
from rag.config import load_config  # noqa: E402
from rag.embed import SentenceTransformerEmbedder  # noqa: E402
from rag.load import load_corpus  # noqa: E402

K = 10
SETTINGS = {  # factory: (parameter, values)
    "HNSW32": ("efSearch", (16, 32, 64, 128, 256)),
    "IVF{nlist},Flat": ("nprobe", (1, 4, 16, 64)),
}


def passages(days: int) -> list[str]:
    """The embedded text of every chunk of `days` days of synthetic reports."""
    config = load_config(None)
    with tempfile.TemporaryDirectory() as folder:
        digests.generate(Path(folder), days=days)
        documents, _ = load_corpus([Path(folder)])
    return [c.embed_text for d in documents for c in chunk_document(d, config.chunk)]


def questions() -> list[str]:
    files = sorted(ROOT.glob("eval/*.jsonl")) + sorted(ROOT.glob("eval/digest/*.jsonl"))
    return [json.loads(line)["question"] for f in files for line in f.read_text("utf-8").splitlines() if line]


def embedded(texts: list[str], embedder: SentenceTransformerEmbedder, cache: Path | None) -> np.ndarray:
    """The texts' passage vectors, from `cache` when it holds these very texts, else embedded (and kept)."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    if cache is not None and cache.exists():
        kept = np.load(cache)
        if str(kept["texts"]) == digest:
            return kept["vectors"]
    vectors, batch, started = [], 256, time.perf_counter()
    for start in range(0, len(texts), batch):
        vectors.append(embedder.embed_passages(texts[start : start + batch]))
        done = start + len(vectors[-1])
        print(
            f"\rembedding {done}/{len(texts)} ({done / (time.perf_counter() - started):.1f}/s)", end="", file=sys.stderr
        )
    print(file=sys.stderr)
    out = np.concatenate(vectors).astype(np.float32)
    if cache is not None:
        np.savez(cache, texts=digest, vectors=out)
    return out


def timed_search(index, queries: np.ndarray) -> tuple[list[set[int]], Latency]:
    found, times = [], []
    for query in queries:
        started = time.perf_counter()
        _, rows = index.search(query.reshape(1, -1), K)
        times.append(time.perf_counter() - started)
        found.append({int(r) for r in rows[0] if r >= 0})
    return found, Latency.of(times)


def measure(vectors: np.ndarray, queries: np.ndarray) -> dict:
    """Exact search's latency, and recall@K and latency of each approximate index per setting."""
    import faiss

    exact, exact_latency = timed_search(store.build_faiss(vectors, store.EXACT), queries)
    report: dict = {"exact": dataclasses.asdict(exact_latency), "approximate": []}
    nlist = int(4 * np.sqrt(len(vectors)))
    for pattern, (parameter, values) in SETTINGS.items():
        factory = pattern.format(nlist=nlist)
        started = time.perf_counter()
        index = store.build_faiss(vectors, factory)
        build_s = time.perf_counter() - started
        for value in values:
            faiss.ParameterSpace().set_index_parameter(index, parameter, value)
            found, latency = timed_search(index, queries)
            recall = float(np.mean([len(f & t) / len(t) for f, t in zip(found, exact, strict=True)]))
            report["approximate"].append(
                {
                    "factory": factory,
                    "parameter": parameter,
                    "value": value,
                    "recall": round(recall, 4),
                    "build_s": round(build_s, 2),
                    "latency": dataclasses.asdict(latency),
                }
            )
    return report


def render(report: dict) -> str:
    lines = [
        "# Approximate dense search on real e5 vectors",
        "",
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `bench/recall.py`: "
        f"{report['passages']:,} passages of {report['days']} days of synthetic reports embedded with e5-small "
        f"(float32), {report['queries']} questions of eval/ as queries; recall@{K} against exact search.",
        "",
        f"Exact search: p50 {report['exact']['p50_ms']} ms a query.",
        "",
        f"| index | setting | recall@{K} | p50 ms | build s |",
        "|---|---|---|---|---|",
    ]
    for a in report["approximate"]:
        lines.append(
            f"| {a['factory']} | {a['parameter']} {a['value']} | {a['recall']:.4f} | {a['latency']['p50_ms']} | "
            f"{a['build_s']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=731, help="days of synthetic reports (731: about 11,000 chunks)")
    parser.add_argument("--vectors", type=Path, help="an .npz file that keeps the passage vectors between runs")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where recall.json/md go")
    args = parser.parse_args(argv)
    embedder = SentenceTransformerEmbedder(load_config(None).embed)
    texts = passages(args.days)
    vectors = embedded(texts, embedder, args.vectors)
    asked = questions()
    report = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "days": args.days,
        "passages": len(texts),
        "queries": len(asked),
        **measure(vectors, embedder.embed_queries(asked)),
    }
    write_results("recall", report, render, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
