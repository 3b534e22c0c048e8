"""Compare first-stage and reranking settings on a gold file, loading each model once.

    .venv/bin/python scripts/sweep.py eval/gold-tune.jsonl            # fusion methods and weights
    .venv/bin/python scripts/sweep.py eval/gold-tune.jsonl --rerank   # reranker weight and candidate count
    .venv/bin/python scripts/sweep.py eval/gold-tune.jsonl eval/gold-tune2.jsonl --answers \\
        --try answer.skip=extract --try generate.passage_tokens=80 --memo /tmp/replies.json --json out.json

The reranker judges the top 10 fused hits of each question once; the combinations are computed from
those scores, so every row sees the same judgements. Likewise the generator answers each question once
and every threshold setting checks the same replies.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import subprocess
import time
from pathlib import Path

from rag import fuse, pipeline
from rag.config import load_config
from rag.evaluate import (
    Replay,
    ReplayEmbedder,
    ReplayJudge,
    read_questions,
    relevant_counts,
    score_answers,
    score_rankings,
)

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


def setting(config, spec: str):
    """`config` with the assignments of `spec` ("generate.passage_tokens=80,answer.skip=extract+loop")."""
    for assignment in filter(None, spec.split(",")):
        key, value = assignment.split("=", 1)
        section_name, name = key.split(".", 1)
        section = getattr(config, section_name)
        old = getattr(section, name)
        typed = tuple(filter(None, value.split("+"))) if isinstance(old, tuple) else type(old)(value)
        config = dataclasses.replace(config, **{section_name: dataclasses.replace(section, **{name: typed})})
    return config


def load_memo(path: Path | None, replay: Replay, judge: ReplayJudge | None) -> None:
    if path and path.exists():
        memo = json.loads(path.read_text(encoding="utf-8"))
        replay.replies = memo["replies"]
        if judge:
            judge.scores = {(q, tuple(s)): scores for q, s, scores in memo["judge"]}


def save_memo(path: Path | None, replay: Replay, judge: ReplayJudge | None) -> None:
    if path:
        judged = [[q, list(s), scores] for (q, s), scores in judge.scores.items()] if judge else []
        path.write_text(json.dumps({"replies": replay.replies, "judge": judged}, ensure_ascii=False), encoding="utf-8")


def sweep_answers(config, files: list[Path], retriever, tries: list[str], memo: Path | None) -> dict:
    """Answer figures for the defaults and each `--try` setting, on each file and pooled over them.

    A prompt asked again replays its reply (and the judge its scores), so settings that change only the checks
    cost no generation; with `memo` the replies are kept on disk for the next run. The objective is the mean of
    the issue's three decline-or-answer targets: gold answer, unanswerable declined, 1 - answerable declined.
    """
    assistant = pipeline.open_assistant(config, retriever=retriever)
    replay = Replay(assistant.generator)
    judge = ReplayJudge(assistant.judge) if assistant.judge else None
    load_memo(memo, replay, judge)
    assistant.generator, assistant.judge = replay, judge
    assistant.retriever.embedder = ReplayEmbedder(assistant.retriever.embedder)  # each setting reads the same
    golds = {f.stem: read_questions(f) for f in files}
    out = {}
    print(f"{'setting':<60}{'gold':>7}{'unans. declined':>17}{'ans. declined':>15}{'objective':>11}")
    for spec in ["", *tries]:
        changed = setting(config, spec)
        assistant.config, assistant.answer_config = changed.generate, changed.answer
        rows = {}
        for name, gold in golds.items():
            rows[name], _ = score_answers(gold, [assistant.ask(q.question) for q in gold])
            save_memo(memo, replay, judge)
        pooled = {
            key: sum(rows[n][key] * rows[n][over] for n in rows) / max(1, sum(rows[n][over] for n in rows))
            for key, over in (
                ("answer_hit", "answerable"),
                ("evidence_cited", "answerable"),
                ("declined_unanswerable", "unanswerable"),
                ("declined_answerable", "answerable"),
            )
        }
        pooled["objective"] = (
            pooled["answer_hit"] + pooled["declined_unanswerable"] + 1 - pooled["declined_answerable"]
        ) / 3
        out[spec or "defaults"] = {"files": rows, "pooled": pooled}
        print(
            f"{spec or 'defaults':<60}{pooled['answer_hit']:>7.3f}{pooled['declined_unanswerable']:>17.3f}"
            f"{pooled['declined_answerable']:>15.3f}{pooled['objective']:>11.3f}",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qa", type=Path, nargs="+")
    parser.add_argument("--rerank", action="store_true")
    parser.add_argument("--answers", action="store_true")
    parser.add_argument(
        "--try",
        dest="tries",
        action="append",
        default=[],
        metavar="KEY=VALUE,...",
        help="with --answers: a setting to measure beside the defaults (repeatable)",
    )
    parser.add_argument("--memo", type=Path, help="with --answers: keep the model's replies in this file")
    parser.add_argument("--json", type=Path, help="with --answers: write the figures here")
    args = parser.parse_args()
    config = load_config()
    retriever = pipeline.open_retriever(config, rerank=False)
    if args.answers:
        for spec in args.tries:
            setting(config, spec)  # a wrong key fails before any question is answered
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
        out = sweep_answers(config, args.qa, retriever, args.tries, args.memo)  # the code imported now, at `head`
        if args.json:
            measured = {
                "date": datetime.date.today().isoformat(),
                "commit": head.strip(),
                "files": [str(f) for f in args.qa],
            }
            args.json.write_text(json.dumps(measured | {"settings": out}, indent=1) + "\n", encoding="utf-8")
        return
    gold = read_questions(args.qa[0])
    relevant = relevant_counts(gold, retriever.index.chunks)
    print(HEADER)
    (sweep_rerank if args.rerank else sweep_fusion)(config, gold, retriever, relevant)


if __name__ == "__main__":
    main()
