"""How well does each signal we have tell an answerable question from an unanswerable one? (tuning sets only)

    .venv/bin/python scripts/answerability.py eval/gold-tune.jsonl eval/gold-tune2.jsonl \\
        --memo /tmp/replies.json --json docs/results/answerability-tuning.json

For every question that reaches the model, it records the best dense similarity, the largest share of the
question's terms one passage holds, and the yes/no judge's P(yes) for the question (and for the question with
the model's reply) against the passages the model read; then the area under the ROC curve of each for
"answerable" (0.5: no better than chance). A `--memo` file of `scripts/sweep.py` replays the replies.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
from pathlib import Path

from sweep import load_memo

from rag import pipeline, policy
from rag.cite import strip_markers
from rag.config import load_config
from rag.evaluate import Replay, ReplayJudge, read_questions

SIGNALS = ("similarity", "coverage", "judge", "judge_with_reply")


class Recorder:
    """Wraps a generator and keeps the last prompt and reply."""

    def __init__(self, generator):
        self.generator = generator
        self.last: tuple[list, str] | None = None

    def __getattr__(self, name: str):
        return getattr(self.generator, name)

    def stream(self, messages, max_tokens: int):
        reply = ""
        for piece in self.generator.stream(messages, max_tokens):
            reply += piece
            yield piece
        self.last = (messages, reply)


def auc(scores: list[float], positive: list[bool]) -> float | None:
    """The chance that a positive scores above a negative (ties count half); None without both kinds."""
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    if not pos or not neg:
        return None
    return sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qa", type=Path, nargs="+", help="gold question files (tuning sets)")
    parser.add_argument("--memo", type=Path, help="replies kept by scripts/sweep.py --memo")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    config = load_config(None)
    assistant = pipeline.open_assistant(config)
    judge = ReplayJudge(assistant.judge or pipeline.make_reranker(config))
    replay = Replay(assistant.generator)
    load_memo(args.memo, replay, judge)
    recorder = Recorder(replay)
    assistant.generator = recorder
    rows = []
    for path in args.qa:
        for q in read_questions(path):
            recorder.last = None
            found = assistant.retrieve(q.question)
            hits, similarity = found.hits, found.similarity
            assistant.ask(q.question)
            if recorder.last is None:  # declined before generating
                continue
            messages, reply = recorder.last
            read = messages[-1]["content"].rsplit("\n---\nQuestion:", 1)[0]  # the passages as the model read them
            rows.append(
                {
                    "id": q.id,
                    "answerable": q.answerable,
                    "similarity": similarity,
                    "coverage": policy.coverage(q.question, hits[: config.generate.passages]),
                    "judge": judge.score(q.question, [read])[0],
                    "judge_with_reply": judge.score(f"{q.question}\nAnswer: {strip_markers(reply).strip()}", [read])[0],
                }
            )
    labels = [r["answerable"] for r in rows]
    at = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = {
        "date": datetime.date.today().isoformat(),
        "commit": at,
        "files": [str(p) for p in args.qa],
        "questions": len(rows),
        "answerable": sum(labels),
        "auc": {s: auc([r[s] for r in rows], labels) for s in SIGNALS},
        "rows": rows,
    }
    print(f"{len(rows)} questions reached the model ({sum(labels)} answerable); AUC for answerable:")
    for s, value in out["auc"].items():
        print(f"  {s:<18}{'-' if value is None else f'{value:.3f}'}")
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
