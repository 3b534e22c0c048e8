"""Compare first-stage settings (fusion method and weights) on a gold file, loading the model once.

    .venv/bin/python scripts/sweep.py eval/gold.jsonl
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from rag import pipeline
from rag.config import load_config
from rag.evaluate import read_questions, relevant_counts, score


def main(qa: str) -> None:
    config = load_config()
    gold = read_questions(Path(qa))
    retriever = pipeline.open_retriever(config, rerank=False)
    relevant = relevant_counts(gold, retriever.index.chunks)
    settings = [("dense", "rrf", 0.5), ("keyword", "rrf", 0.5)]
    settings += [("hybrid", fusion, w) for fusion in ("rrf", "weighted") for w in (0.3, 0.4, 0.5, 0.6, 0.7)]
    print(f"{'mode':<8}{'fusion':<10}{'dense_w':>8}{'hit@1':>8}{'hit@5':>8}{'hit@10':>8}{'mrr@10':>8}")
    for mode, fusion, weight in settings:
        retriever.config = dataclasses.replace(config.search, mode=mode, fusion=fusion, dense_weight=weight)
        rankings = [[retriever.index.chunks[r].text for r, _ in s.fused[:10]] for s in retriever.stages(
            [q.question for q in gold], rerank=False)]
        m = score(gold, rankings, relevant)[0]["all"]
        print(f"{mode:<8}{fusion:<10}{weight:>8}{m['hit@1']:>8.3f}{m['hit@5']:>8.3f}{m['hit@10']:>8.3f}{m['mrr@10']:>8.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
