"""Compare first-stage and reranking settings on a gold file, loading each model once.

    .venv/bin/python scripts/sweep.py eval/gold-tune.jsonl            # fusion methods and weights
    .venv/bin/python scripts/sweep.py eval/gold-tune.jsonl --rerank   # reranker weight and candidate count
    .venv/bin/python scripts/sweep.py eval/gold-tune.jsonl --answers  # citation-check thresholds

The reranker judges the top 10 fused hits of each question once; the combinations are computed from
those scores, so every row sees the same judgements. Likewise the generator answers each question once
and every threshold setting checks the same replies.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from rag import fuse, pipeline
from rag.config import load_config
from rag.evaluate import Replay, ReplayJudge, read_questions, relevant_counts, score_answers, score_rankings

HEADER = f"{'setting':<34}{'hit@1':>8}{'hit@5':>8}{'hit@10':>8}{'mrr@10':>8}"


def report(name: str, gold, rankings, retriever, relevant) -> None:
    m = score_rankings(gold, rankings, retriever.index.chunks, relevant)[0]["all"]
    print(f"{name:<34}{m['hit@1']:>8.3f}{m['hit@5']:>8.3f}{m['hit@10']:>8.3f}{m['mrr@10']:>8.3f}", flush=True)


def sweep_fusion(config, gold, retriever, relevant) -> None:
    settings = [("dense", "weighted", 0.5), ("keyword", "weighted", 0.5)]
    settings += [("hybrid", fusion, w) for fusion in ("rrf", "weighted") for w in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)]
    for mode, fusion, weight in settings:
        retriever.config = dataclasses.replace(config.search, mode=mode, fusion=fusion, dense_weight=weight)
        rankings = [s.fused for s in retriever.stages([q.question for q in gold], rerank=False)]
        report(f"{mode} {fusion} dense_weight={weight}", gold, rankings, retriever, relevant)


def sweep_rerank(config, gold, retriever, relevant) -> None:
    reranker = pipeline.make_reranker(config)
    fused = [s.fused for s in retriever.stages([q.question for q in gold], rerank=False)]
    judged, started, pairs = [], time.perf_counter(), 0
    for q, ranking in zip(gold, fused, strict=True):
        head = ranking[:10]
        judged.append(reranker.score(q.question, [retriever.index.chunks[r].embed_text for r, _ in head]))
        pairs += len(head)
    print(f"reranker: {1000 * (time.perf_counter() - started) / pairs:.0f} ms per pair over {pairs} pairs")
    report("fused (no reranker)", gold, fused, retriever, relevant)
    for candidates in (3, 5, 10):
        for weight in (0.2, 0.3, 0.5, 0.7, 1.0):
            rankings = [
                fuse.rerank(ranking[:candidates], scores[:candidates], weight) + ranking[candidates:]
                for ranking, scores in zip(fused, judged, strict=True)
            ]
            report(f"rerank top {candidates} weight={weight}", gold, rankings, retriever, relevant)


def sweep_answers(config, gold, retriever) -> None:
    """Answer thresholds, every setting checking the same replies."""
    assistant = pipeline.open_assistant(config, retriever=retriever)
    assistant.generator = Replay(assistant.generator)
    assistant.judge = ReplayJudge(assistant.judge) if assistant.judge else None
    print(f"{'similarity':>10}{'min_supported':>14}{'answer':>8}{'evidence':>9}{'declined: unans.':>17}{'ans.':>6}")
    for similarity in (0.83, 0.86, 0.89):
        for min_supported in (0.5, 1.0):
            assistant.answer_config = dataclasses.replace(
                config.answer, similarity=similarity, min_supported=min_supported
            )
            figures, _ = score_answers(gold, [assistant.ask(q.question) for q in gold])
            print(
                f"{similarity:>10}{min_supported:>14}{figures['answer_hit']:>8.3f}{figures['evidence_cited']:>9.3f}"
                f"{figures['declined_unanswerable']:>17.3f}{figures['declined_answerable']:>6.3f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qa", type=Path)
    parser.add_argument("--rerank", action="store_true")
    parser.add_argument("--answers", action="store_true")
    args = parser.parse_args()
    config = load_config()
    gold = read_questions(args.qa)
    retriever = pipeline.open_retriever(config, rerank=False)
    if args.answers:
        sweep_answers(config, gold, retriever)
        return
    relevant = relevant_counts(gold, retriever.index.chunks)
    print(HEADER)
    (sweep_rerank if args.rerank else sweep_fusion)(config, gold, retriever, relevant)


if __name__ == "__main__":
    main()
