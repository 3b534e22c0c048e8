"""Retrieval metrics on a gold question file: hit@k, MRR@10 and nDCG@10, broken down by language and kind."""

from __future__ import annotations

import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.cite import CJK
from rag.errors import InputError
from rag.rerank import Reranker
from rag.types import Answer, Chunk

DEFAULT_KS = (1, 3, 5, 10)


@dataclass(frozen=True)
class Question:
    """One line of a gold file such as ../shared/eval/dev.jsonl."""

    id: str
    question: str
    evidence: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    answerable: bool = True
    lang: str = ""
    kind: str = ""
    # A list question ("Which papers ...?") names several items, each with its spellings; the answer should
    # name every item, and its citations should be to papers that are items.
    items: tuple[tuple[str, ...], ...] = ()


def read_jsonl(path: Path) -> list[dict]:
    """Reads one JSON object per line, skipping blank lines.

    Raises:
        InputError: the file is missing or a line is not a JSON object (the message names the line).
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path}: {e}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{number}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise InputError(f'{path}:{number}: expected an object with a "question" string')
        row.setdefault("id", str(number))
        rows.append(row)
    if not rows:
        raise InputError(f"{path} has no questions")
    return rows


def read_questions(path: Path) -> list[Question]:
    return [
        Question(
            id=str(r["id"]),
            question=r["question"],
            evidence=tuple(r.get("evidence") or ()),
            answers=tuple(r.get("answers") or ()),
            answerable=bool(r.get("answerable", True)),
            lang=str(r.get("lang", "")),
            kind=str(r.get("kind", "")),
            items=tuple(tuple(spellings) for spellings in r.get("items") or ()),
        )
        for r in read_jsonl(path)
    ]


def normalize_text(text: str) -> str:
    """Collapses whitespace, drops Markdown `*` and backticks, lower-cases: how evidence is compared."""
    return re.sub(r"\s+", " ", re.sub(r"[*`]", "", text)).strip().lower()


def first_hit_rank(evidence: Sequence[str], passages: Sequence[str]) -> int | None:
    """The smallest r such that every evidence string lies inside one of the first r passages, or None."""
    wanted = {normalize_text(e) for e in evidence}
    if not wanted:
        return None
    for rank, passage in enumerate(passages, 1):
        text = normalize_text(passage)
        wanted = {e for e in wanted if e not in text}
        if not wanted:
            return rank
    return None


def ndcg(evidence: Sequence[str], passages: Sequence[str], relevant_total: int, k: int = 10) -> float:
    """Binary-relevance nDCG@k: a passage is relevant when it holds any evidence string."""
    wanted = [normalize_text(e) for e in evidence]
    gains = [any(e in normalize_text(p) for e in wanted) for p in passages[:k]]
    dcg = sum(1 / math.log2(i + 2) for i, g in enumerate(gains) if g)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(relevant_total, k)))
    return dcg / ideal if ideal else 0.0


def bootstrap(values: Sequence[float], resamples: int = 1000, seed: int = 0) -> list[float]:
    """The 95% percentile-bootstrap interval of the mean of per-question `values` (resampled questions)."""
    x = np.asarray(values, dtype=float)
    if not len(x):
        return [0.0, 0.0]
    means = x[np.random.default_rng(seed).integers(0, len(x), (resamples, len(x)))].mean(axis=1)
    return [round(float(np.percentile(means, 2.5)), 3), round(float(np.percentile(means, 97.5)), 3)]


@dataclass
class Scores:
    """The first-hit rank and nDCG of each question of one group, and the metrics over them."""

    ks: tuple[int, ...] = DEFAULT_KS
    ranks: list[int | None] = field(default_factory=list)
    ndcgs: list[float] = field(default_factory=list)

    def add(self, rank: int | None, ndcg_value: float) -> None:
        self.ranks.append(rank)
        self.ndcgs.append(ndcg_value)

    def as_dict(self) -> dict:
        """Each metric's mean, and for hit@k and MRR@10 its bootstrap interval (`<metric>_ci`)."""
        per = {f"hit@{k}": [float(r is not None and r <= k) for r in self.ranks] for k in self.ks}
        per["mrr@10"] = [1 / r if r is not None and r <= 10 else 0.0 for r in self.ranks]
        out: dict = {"n": len(self.ranks)}
        for name, values in per.items():
            out[name] = sum(values) / max(len(values), 1)
            out[f"{name}_ci"] = bootstrap(values)
        out["ndcg@10"] = sum(self.ndcgs) / max(len(self.ndcgs), 1)
        return out


def relevant_counts(questions: Sequence[Question], chunks: Sequence[Chunk]) -> dict[str, int]:
    """How many chunks of the whole index hold any evidence string of each question (the nDCG ideal)."""
    texts = [normalize_text(c.text) for c in chunks]
    return {
        q.id: sum(any(normalize_text(e) in t for e in q.evidence) for t in texts) for q in questions if q.answerable
    }


def score(
    questions: Sequence[Question], rankings: Sequence[Sequence[str]], relevant: dict[str, int], ks=DEFAULT_KS
) -> tuple[dict[str, dict[str, Any]], list[tuple[Question, int | None]]]:
    """Scores ranked passage texts against the gold evidence of answerable questions.

    Returns:
        Metrics per group ("all", "lang=zh", "kind=number", ...) and (question, first hit rank) per question.
    """
    groups: dict[str, Scores] = defaultdict(lambda: Scores(tuple(ks)))
    ranks = []
    for q, passages in zip(questions, rankings, strict=True):
        if not q.answerable or not q.evidence:
            continue
        rank = first_hit_rank(q.evidence, passages)
        value = ndcg(q.evidence, passages, relevant.get(q.id, 0))
        for group in ("all", f"lang={q.lang}", f"kind={q.kind}"):
            groups[group].add(rank, value)
        ranks.append((q, rank))
    return {name: s.as_dict() for name, s in groups.items()}, ranks


def score_rankings(
    questions: Sequence[Question],
    rankings: Sequence[Sequence[tuple[int, float]]],
    chunks: Sequence[Chunk],
    relevant: dict[str, int],
    ks=DEFAULT_KS,
) -> tuple[dict[str, dict[str, Any]], list[tuple[Question, int | None]]]:
    """`score` for rankings of (row, score) over `chunks`, as the retriever returns them: their top 10."""
    texts = [[chunks[row].text for row, _ in ranking[:10]] for ranking in rankings]
    return score(questions, texts, relevant, ks)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50 and p95 (nearest rank) of latencies, rounded to 0.1."""
    ordered = sorted(values)

    def nearest_rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 1)

    return {"p50": nearest_rank(0.50), "p95": nearest_rank(0.95), "n": len(ordered)}


def plot_stages(report: dict[str, dict[str, dict]], path: Path, title: str) -> None:
    """Draws grouped bars: one group per metric, one bar per stage, for all answerable questions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in next(iter(report.values()))["all"] if m != "n" and not m.endswith("_ci")]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(report)
    for i, (stage, groups) in enumerate(report.items()):
        xs = [j + i * width for j in range(len(metrics))]
        ax.bar(xs, [groups["all"][m] for m in metrics], width, label=stage)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(metrics))], metrics)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def names(item: str, text: str) -> bool:
    """True when `item` occurs in `text` (both normalized) as a whole word: "ECO" is not in "reconstruction"."""
    return re.search(rf"(?<![a-z0-9]){re.escape(normalize_text(item))}(?![a-z0-9])", normalize_text(text)) is not None


def score_list(q: Question, a: Answer) -> dict:
    """A list question's row: items the answer names, and cited papers that are none of the items."""
    named = sum(a.answerable and any(names(s, a.text) for s in spellings) for spellings in q.items)
    papers = {c.chunk.section or c.chunk.title for c in a.citations}
    extra = sum(not any(names(s, p) for spellings in q.items for s in spellings) for p in papers)
    return {"id": q.id, "items": len(q.items), "named": named, "extra": extra, "declined": not a.answerable}


def in_language(answer: Answer) -> bool:
    """True when the model's own words (a quote after them left out) are in the question's language: an answer
    to an English question holds no Chinese character ("64 张 GPU" fails), an answer to a Chinese question no
    English words without Chinese ones. Figures, names and the cited papers' titles fit either language."""
    own = answer.reply
    for c in answer.citations:
        own = own.replace(c.chunk.section, "")
    if answer.lang == "en":
        return not CJK.search(own)
    return bool(CJK.search(own)) or not re.search(r"(?<![A-Za-z])[a-z]{2,}(?![A-Za-z])", own)


def score_answers(questions: Sequence[Question], answers: Sequence[Answer]) -> tuple[dict[str, float], list[dict]]:
    """Answer figures: gold answer string present, evidence cited, declining right and wrong, supported sentences,
    answers in the question's language.

    List questions (with `items`) are scored apart: the share of their items named, and how many papers their
    answers cite that are not items.

    Returns:
        The figures (shares in 0..1, with the counts they are over) and one row per question, in order, for
        listing misses (a list question's row is `score_list`'s).
    """
    rows = []
    for q, a in zip(questions, answers, strict=True):
        if q.items:
            rows.append(score_list(q, a))
            continue
        text = normalize_text(a.text)
        rows.append(
            {
                "id": q.id,
                "answerable": q.answerable,
                "declined": not a.answerable,
                "answer_hit": a.answerable and any(normalize_text(s) in text for s in q.answers),
                "evidence_cited": a.answerable
                and bool(q.evidence)
                and first_hit_rank(q.evidence, [c.chunk.text for c in a.citations]) is not None,
                "sentences": a.sentences,
                "supported": a.sentences - len(a.unsupported),
                "in_language": a.answerable and in_language(a),
            }
        )
    lists = [r for r in rows if "items" in r]
    plain = [r for r in rows if "items" not in r]
    answerable = [r for r in plain if r["answerable"]]
    unanswerable = [r for r in plain if not r["answerable"]]

    def share(part: list[dict], key: str) -> float:
        return sum(bool(r[key]) for r in part) / len(part) if part else 0.0

    said = [r for r in plain if not r["declined"]]
    sentences = sum(r["sentences"] for r in said)
    figures = {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answer_hit": share(answerable, "answer_hit"),
        "evidence_cited": share(answerable, "evidence_cited"),
        "declined_unanswerable": share(unanswerable, "declined"),
        "declined_answerable": share(answerable, "declined"),
        "supported_sentences": sum(r["supported"] for r in said) / sentences if sentences else 0.0,
        "answered": len(said),
        "in_language": share(said, "in_language"),
    }
    if lists:
        figures["lists"] = len(lists)
        figures["list_items_named"] = sum(r["named"] for r in lists) / sum(r["items"] for r in lists)
        figures["list_extra_cited"] = sum(r["extra"] for r in lists) / len(lists)
    return figures, rows


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a share `hits / n` (how far one question set can be from the truth)."""
    if n == 0:
        return 0.0, 0.0
    p = hits / n
    middle = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, middle - half), 3), round(min(1.0, middle + half), 3)


_LOOPED = re.compile(r"(\S.{2,58}?)\1\1", re.DOTALL)


def repeats_a_phrase(text: str) -> bool:
    """True when the text writes a phrase (4-60 characters, with a letter or a Chinese character in it) three
    times in a row: the mark of a decoding loop."""
    return any(re.search(r"[A-Za-z\u4e00-\u9fff]", m.group(1)) for m in _LOOPED.finditer(text))


class Replay:
    """Wraps a generator so that a prompt asked again replays the reply it got (decoding is greedy, so the
    model would write the same): measuring an answer without one check then costs no generation. The first
    call of each prompt records its prefill time (the call to the first piece) and prompt length."""

    def __init__(self, generator):
        self.generator = generator
        self.replies: dict[str, list[str]] = {}
        self.prefill_ms: list[float] = []
        self.prompt_tokens: list[int] = []

    @property
    def id(self) -> str:
        return self.generator.id

    def count_tokens(self, text: str) -> int:
        return self.generator.count_tokens(text)

    def stream(self, messages, max_tokens: int):
        key = json.dumps([messages, max_tokens], ensure_ascii=False)
        if key in self.replies:
            yield from self.replies[key]
            return
        pieces: list[str] = []
        started = time.perf_counter()
        for piece in self.generator.stream(messages, max_tokens):
            if not pieces:
                self.prefill_ms.append(1000 * (time.perf_counter() - started))
                self.prompt_tokens.append(sum(self.count_tokens(m["content"]) for m in messages))
            pieces.append(piece)
            yield piece
        self.replies[key] = pieces  # only a reply read to its end is replayed


class ReplayJudge:
    """Wraps a reranker's judge the same way: the same (question, sentences) replays its scores."""

    def __init__(self, judge: Reranker):
        self.judge = judge
        self.scores: dict[tuple[str, tuple[str, ...]], list[float]] = {}

    @property
    def id(self) -> str:
        return self.judge.id

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        key = (query, tuple(passages))
        if key not in self.scores:
            self.scores[key] = list(self.judge.score(query, list(passages)))
        return self.scores[key]


class ReplayEmbedder:
    """Wraps an embedder so that a text embedded again (the same question and sentences, measured once per
    check left out) is read from memory."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.vectors: dict[tuple[str, str], np.ndarray] = {}

    def __getattr__(self, name: str):
        return getattr(self.embedder, name)

    def _embed(self, kind: str, texts: list[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if (kind, t) not in self.vectors))
        if new:
            embed = self.embedder.embed_queries if kind == "query" else self.embedder.embed_passages
            for text, vector in zip(new, embed(new), strict=True):
                self.vectors[kind, text] = vector
        if not texts:
            return self.embedder.embed_passages([])
        return np.stack([self.vectors[kind, t] for t in texts])

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed("query", texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed("passage", texts)


def answer_all(
    assistant, questions: Sequence[Question], progress=None
) -> tuple[list[Answer], list[float], list[float]]:
    """Answers each question as the chat would (streaming, one at a time); returns the answers and the
    milliseconds to the first piece and to the whole answer."""
    answers, first_ms, total_ms = [], [], []
    for q in progress(questions) if progress else questions:
        started = time.perf_counter()
        first = None
        for event in assistant.stream(q.question):
            first = first or 1000 * (time.perf_counter() - started)
            if isinstance(event, Answer):
                answers.append(event)
        total_ms.append(1000 * (time.perf_counter() - started))
        first_ms.append(first or total_ms[-1])
    return answers, first_ms, total_ms


def answer_figures(questions: Sequence[Question], answers: Sequence[Answer]) -> tuple[dict, list[dict]]:
    """`score_answers` plus what a reader sees: the median answer's length, loops, and how often each check of
    rag/policy.py fired; each share with its 95% interval over this set's questions."""
    scores, rows = score_answers(questions, answers)
    figures: dict[str, object] = dict(scores)
    plain = [(q, a) for q, a in zip(questions, answers, strict=True) if not q.items]
    said = [a for _, a in plain if a.answerable]
    lengths = sorted(len(a.text) for a in said)
    figures["answer_chars_p50"] = lengths[len(lengths) // 2] if lengths else 0
    figures["looping"] = sum(repeats_a_phrase(a.text) for a in said)
    fired: dict[str, int] = defaultdict(int)
    for _, a in plain:
        for name in set(a.checks):
            fired[name] += 1
    figures["checks_fired"] = dict(sorted(fired.items()))
    answerable = [r for r in rows if "items" not in r and r["answerable"]]
    unanswerable = [r for r in rows if "items" not in r and not r["answerable"]]
    for name, part, key in (
        ("answer_hit", answerable, "answer_hit"),
        ("evidence_cited", answerable, "evidence_cited"),
        ("declined_unanswerable", unanswerable, "declined"),
        ("declined_answerable", answerable, "declined"),
    ):
        figures[f"{name}_ci"] = wilson(sum(bool(r[key]) for r in part), len(part))
    return figures, rows
