"""Whether search over a Milvus store (`configs/milvus.toml`) ranks as over FAISS, on every question we have.

    .venv/bin/python scripts/store_parity.py     # writes docs/results/store-parity.json and store-parity.md

The shipped corpus is indexed once with FAISS (the default embedder, as `rag index`), then the same index is
rewritten with `store.backend = "milvus"` (Milvus Lite; nothing is embedded again). For every question of
eval/ and the dev set, the dense top 10 and the final (fused) top 10 of both are compared, chunk by chunk.
"""

from __future__ import annotations

import datetime
import json
import sys
import tempfile
from pathlib import Path

from answer_report import ROOT, commit, machine, write_results

from rag import pipeline, store
from rag.build import update_index
from rag.config import StoreConfig, load_config
from rag.load import load_corpus
from rag.search import Retriever


def questions() -> list[str]:
    files = sorted(ROOT.glob("eval/*.jsonl")) + [ROOT.parent / "shared" / "eval" / "dev.jsonl"]
    return [
        json.loads(line)["question"] for f in files if f.exists() for line in f.read_text("utf-8").splitlines() if line
    ]


def top10(retriever: Retriever, asked: list[str]) -> dict[str, list[list[str]]]:
    stages = retriever.stages(asked, rerank=False)
    ids = [c.chunk_id for c in retriever.index.chunks]
    return {stage: [[ids[row] for row, _ in getattr(s, stage)[:10]] for s in stages] for stage in ("dense", "fused")}


def render(report: dict) -> str:
    lines = [
        "# Search over Milvus against FAISS",
        "",
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `scripts/store_parity.py`: the "
        f"shipped corpus ({report['chunks']} chunks) indexed with FAISS, then rewritten for Milvus Lite "
        f"(`configs/milvus.toml`); {report['questions']} questions of eval/ and the dev set.",
        "",
        "| stage | questions whose top 10 is the same, in the same order | same set of 10 |",
        "|---|---|---|",
    ]
    for stage, f in report["stages"].items():
        lines.append(f"| {stage} | {f['same_order']}/{report['questions']} | {f['same_set']}/{report['questions']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    config = load_config(None)
    embedder = pipeline.make_embedder(config)
    documents, _ = load_corpus([Path(p) for p in config.corpus.paths])
    asked = questions()
    rankings = {}
    with tempfile.TemporaryDirectory() as folder:
        for backend in ("faiss", "milvus"):
            print(f"{backend}: index, then {len(asked)} questions", file=sys.stderr)
            update_index(
                Path(folder), documents, embedder, config.chunk, config.index.factory, dense=StoreConfig(backend)
            )
            index = store.load(Path(folder))
            rankings[backend] = top10(Retriever(index, embedder, config.search), asked)
        chunks = len(index.chunks)
    report: dict = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "chunks": chunks,
        "questions": len(asked),
        "stages": {},
    }
    for stage in ("dense", "fused"):
        pairs = list(zip(rankings["faiss"][stage], rankings["milvus"][stage], strict=True))
        report["stages"][stage] = {
            "same_order": sum(a == b for a, b in pairs),
            "same_set": sum(set(a) == set(b) for a, b in pairs),
        }
    write_results("store-parity", report, render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
