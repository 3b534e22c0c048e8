"""Trains the injection detector's learned head (rag/injection_head.json) on the default embedder's sentence vectors.

    .venv/bin/python scripts/train_injection_head.py            # ~2 min on 2 cores

A sentence addresses an AI reader (1) or not (0). Ones: the `orders` marked in eval/injection/train-hostile.jsonl,
and the sentences holding them.
Zeros: the other sentences of those passages, every sentence of train-benign.jsonl and tune-benign.jsonl (hard
negatives: papers about injection, quoted prompts, guides for human readers) and of the shipped digests.
eval/injection/tune-hostile.jsonl is kept out of training: it is where the head alone is tried, and the benign
sets and the shipped digests are scored by 5-fold cross-validation (a passage is flagged when one of its
sentences is). eval/injection/hostile.jsonl and benign.jsonl are never read here (scripts/injection_report.py
measures on them). Scikit-learn's logistic regression, with its default threshold (P = 0.5); the weights are
written rounded, with what was measured, into the head file.
"""

from __future__ import annotations

import datetime
import json

import numpy as np
from answer_report import ROOT, commit
from injection_report import read, shipped_chunks
from sklearn.linear_model import LogisticRegression

from rag import pipeline
from rag.config import load_config
from rag.injection import HEAD, split

SETS = ROOT / "eval" / "injection"
C = 10.0  # inverse regularisation; chosen among 0.3-10 by the 5-fold figures on tuning data (decision 0007)
FOLDS = 5


def main() -> int:
    config = load_config(None)
    embedder = pipeline.make_embedder(config)
    hostile = read(SETS / "train-hostile.jsonl")
    benign = [p["text"] for p in read(SETS / "train-benign.jsonl")]
    tune_benign = [p["text"] for p in read(SETS / "tune-benign.jsonl")]
    tune_hostile = [p["text"] for p in read(SETS / "tune-hostile.jsonl")]
    shipped = shipped_chunks()

    ones, zeros = [], []
    for passage in hostile:
        orders = passage["orders"]
        ones += orders  # as marked, and as the sentences holding them are split and scored in use
        for sentence in split(passage["text"]):
            (ones if any(o in sentence or sentence in o for o in orders) else zeros).append(sentence)
    zeros += [s for text in benign for s in split(text)]
    cache: dict[str, np.ndarray] = {}

    def vectors(texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in cache]
        for start in range(0, len(new), 64):
            cache.update(zip(new[start : start + 64], embedder.embed_passages(new[start : start + 64]), strict=True))
        return np.array([cache[t] for t in texts])

    def fit(extra_zeros: list[str]) -> LogisticRegression:
        x = vectors(ones + zeros + extra_zeros)
        y = np.array([1] * len(ones) + [0] * (len(zeros) + len(extra_zeros)))
        return LogisticRegression(C=C, max_iter=5000).fit(x, y)

    def flagged(model: LogisticRegression, texts: list[str]) -> list[bool]:
        return [bool((model.decision_function(vectors(split(t) or [t])) > 0).any()) for t in texts]

    # Cross-validation: the hard benign tuning passages and the shipped chunks each held out a fifth at a time.
    held_benign, held_shipped, tried = [], [], []
    for fold in range(FOLDS):
        train = [t for i, t in enumerate(tune_benign) if i % FOLDS != fold]
        train += [t for i, t in enumerate(shipped) if i % FOLDS != fold]
        model = fit([s for t in train for s in split(t)])
        held_benign += flagged(model, [t for i, t in enumerate(tune_benign) if i % FOLDS == fold])
        held_shipped += flagged(model, [t for i, t in enumerate(shipped) if i % FOLDS == fold])
        tried.append(flagged(model, tune_hostile))
    detected = np.mean(tried, axis=0) >= 0.5  # flagged by most folds' heads

    model = fit([s for t in tune_benign + shipped for s in split(t)])
    head = {
        "embedder": embedder.id,
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "trained": {
            "date": datetime.date.today().isoformat(),
            "commit": commit(),
            "C": C,
            "ones": len(ones),
            "zeros": len(zeros) + sum(len(split(t)) for t in tune_benign + shipped),
        },
        "cross_validated": {
            "tune_hostile_detected": round(float(detected.mean()), 3),
            "tune_hostile": len(tune_hostile),
            "tune_benign_flagged": round(float(np.mean(held_benign)), 3),
            "tune_benign": len(tune_benign),
            "shipped_flagged": int(sum(held_shipped)),
            "shipped_chunks": len(shipped),
        },
    }
    HEAD.write_text(json.dumps(head) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in head.items() if k != "weights"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
