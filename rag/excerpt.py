"""What the model reads: the passages' sentences closest to the question, within one token budget, with OCR junk
cut out."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from rag import cite, injection
from rag.cite import CJK
from rag.types import Hit

# An English-only OCR engine reads a Chinese page as runs of Latin junk ("B % 7: Qwen—3-Embedding #£ % MTEB").
# The model copied such junk into its answers, so it reads junk lines with the junk cut out (see `legible`).
_FIGURE = re.compile(r"[(\[]?[-+~]?\d[\d.,:/%x×-]*[)\]]?[.,;:%]?")
_LOWER_PAIR = re.compile(r"[a-z]{2}")
# A document field: a label and a date or a link ("**Date**: 2026-02-10", "- **链接**: https://..."). It answers
# nothing (the passage's header shows its title and date) and a link costs the prompt a dozen tokens.
_FIELD = re.compile(r"[\s>*-]*(?:\*\*)?[^:：*\n]{1,24}(?:\*\*)?\s*[:：]\s*(?:\d{4}-\d{2}(?:-\d{2})?|https?://\S+)\s*")
_WORD_CHARS = "-_.@/"


def _readable(token: str) -> bool | None:
    """True for a figure, Chinese or a word with two lower-case letters in a row; None for punctuation."""
    if not any(c.isalnum() for c in token):
        return None
    if CJK.search(token) or _FIGURE.fullmatch(token):
        return True
    core = token.strip(".,;:()[]\"'“”")
    odd = sum(not (c.isalnum() or c in _WORD_CHARS) for c in core)
    return bool(_LOWER_PAIR.search(core)) and odd <= 1


def _is_junk(line: str) -> bool:
    """True when fewer than half of the line's tokens (four at least, punctuation not counted) are readable.

    Lines with Chinese characters and Markdown table rows ("| Model | MTEB | HLE |") are never junk.
    """
    judged = [k for k in map(_readable, line.split()) if k is not None]
    if len(CJK.findall(line)) >= 2 or line.lstrip().startswith("|") or len(judged) < 4:
        return False
    return sum(judged) < len(judged) / 2


def legible(text: str) -> str:
    """Returns OCR junk text with each junk line cut down to its readable words and figures, junk runs as "…".

    Readable: figures, Chinese, words with two lower-case letters in a row ("Karpathy", "minbpe",
    "Qwen3-Embedding"). Lone digits in a junk line are junk too (misread characters), and a line left with
    nothing readable is dropped. Clean text is returned as it is.
    """
    out = []
    for line in text.split("\n"):
        if not _is_junk(line):
            out.append(line)
            continue
        kept: list[str] = []
        for token in line.split():
            if _readable(token) and not (_FIGURE.fullmatch(token) and sum(c.isdigit() for c in token) < 2):
                kept.append(token)
            elif kept[-1:] != ["…"]:
                kept.append("…")
        if any(t != "…" for t in kept):
            out.append(" ".join(kept))
    return "\n".join(out)


def is_field(sentence: str) -> bool:
    """True for a document field: a label and a date or a link, and nothing else."""
    return _FIELD.fullmatch(sentence) is not None


Relevance = Callable[[list[str]], Sequence[float]]  # scores sentences for the question


@dataclass(frozen=True)
class Passage:
    """Passage [n]: sentences `spans` of a hit's chunk, which the model reads as `shown`."""

    n: int
    hit: Hit
    spans: tuple[tuple[int, int], ...]

    @property
    def start(self) -> int:
        return self.spans[0][0] if self.spans else 0

    @property
    def text(self) -> str:
        """The chunk's text from the first chosen sentence to the last (what citations point into)."""
        return self.hit.chunk.text[self.start : self.spans[-1][1]] if self.spans else ""

    @cached_property  # read for the prompt, the quote's candidates (per sentence) and the similarity check
    def shown(self) -> str:
        """The chosen sentences as the model reads them: runs apart joined by a "…" line, OCR junk lines cut
        down to their readable words."""
        text = self.hit.chunk.text
        runs: list[tuple[int, int]] = []
        for start, end in self.spans:
            if runs and not text[runs[-1][1] : start].strip():
                runs[-1] = (runs[-1][0], end)
            else:
                runs.append((start, end))
        return legible("\n…\n".join(text[start:end].strip() for start, end in runs))


def _addressed(sentences: list[str]) -> list[bool]:
    """Per sentence, whether the patterns find it addressing an AI reader (`injection.detect` without the head)."""
    return [bool(kinds) for kinds in injection.detect(sentences)]


def excerpts(
    texts: list[str],
    relevance: Relevance,
    budget: int,
    count_tokens: Callable[[str], int],
    flagged: Sequence[bool] = (),
    addressed: Callable[[list[str]], list[bool]] = _addressed,
) -> list[tuple[tuple[int, int], ...]]:
    """Chooses the sentences of `texts` the model reads, sharing one token `budget` among them.

    Document fields (a date, a link; see `is_field`) and sentences addressing an AI reader (rag/injection.py) are
    left out. First each text's sentence most relevant
    to the question, then every sentence from the most relevant down,
    each with its neighbours (context, the more relevant first), as long as they fit. A best sentence longer
    than its text's share of the budget is cut to the share.

    Args:
        relevance: Scores sentences for the question (the assistant uses the embedder's cosine, which also
            works for an English question about a Chinese passage; term overlap found the answer less often).
        flagged: Per text, whether it addresses an AI reader (its chunk's `flags`, found at index time).
        addressed: Per sentence of a flagged text, whether it does (`injection.detect`: the patterns alone unless
            given the learned head).

    Returns:
        Each text's chosen (start, end) sentence spans, in text order.
    """
    spans = [cite.sentences(text) for text in texts]
    # Of a text addressing an AI reader, the sentences that do are left out; when none does alone, all of them.
    withheld: set[tuple[int, int]] = set()
    for i, is_flagged in enumerate(flagged):
        if is_flagged:
            found = addressed([texts[i][start:end] for start, end in spans[i]])
            orders = {(i, j) for j, order in enumerate(found) if order}
            withheld |= orders or {(i, j) for j in range(len(spans[i]))}
    ids = [
        (i, j)
        for i, text_spans in enumerate(spans)
        for j, (start, end) in enumerate(text_spans)
        if (i, j) not in withheld and not is_field(texts[i][start:end])
    ]
    if not ids:
        return [() for _ in texts]
    sentences = [texts[i][slice(*spans[i][j])] for i, j in ids]
    score = dict(zip(ids, relevance(sentences), strict=True))
    size = dict(zip(ids, map(count_tokens, sentences), strict=True))
    ranked = sorted(ids, key=lambda x: (-score[x], x))  # ties keep the earlier text and sentence
    best: dict[int, tuple[int, int]] = {}
    for i, j in ranked:
        best.setdefault(i, (i, j))
    chosen: set[tuple[int, int]] = set()
    used = 0

    def take(group: list[tuple[int, int]]) -> None:
        nonlocal used
        for x in group:
            if x not in chosen and used + size[x] <= budget:
                chosen.add(x)
                used += size[x]

    share = budget // len(texts)
    for i, j in best.values():
        if size[i, j] > share:  # a best sentence longer than its text's share of the budget is cut to it
            start, end = spans[i][j]
            spans[i][j] = (start, start + max(1, (end - start) * share // size[i, j]))
            size[i, j] = share
    take(list(best.values()))
    for i, j in ranked:
        take([(i, j)])
        if (i, j) in chosen:
            take(sorted([x for x in ((i, j - 1), (i, j + 1)) if x in score], key=lambda x: -score[x]))
    return [tuple(spans[i][j] for j in range(len(spans[i])) if (i, j) in chosen) for i in range(len(texts))]


def header(passage: Passage, dated: bool = True) -> str:
    """ "[n] paper title, date"; without the date when not `dated`."""
    chunk = passage.hit.chunk
    title = chunk.section or chunk.title
    date = f", {chunk.date}" if chunk.date and dated else ""
    return f"[{passage.n}] {title}{date}"


def one_per_paper(hits: list[Hit], n: int) -> list[Hit]:
    """The first `n` hits from different papers; chunks of text without papers count apart, and a digest's
    preamble (its chunks before the first paper carry the document's title as their section) is no paper."""
    with_papers = {hit.chunk.doc_id for hit in hits if hit.chunk.in_paper}
    seen, out = set(), []
    for hit in hits:
        chunk = hit.chunk
        paper = chunk.in_paper
        key = (chunk.doc_id, chunk.section) if paper else chunk.chunk_id
        if key not in seen and (paper or chunk.doc_id not in with_papers):
            seen.add(key)
            out.append(hit)
    return out[:n]
