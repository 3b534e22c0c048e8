"""Keyword search: BM25 over tokens that work for Chinese (jieba words + character bigrams) and English/numbers."""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

import numpy as np

from rag.fuse import rrf

logger = logging.getLogger(__name__)

# Names and figures stay whole ("qwen3-8b", "12.5%", "3/4", "a100") and also yield their parts ("qwen3", "8b").
_LATIN = re.compile(r"[a-z0-9]+(?:[-_./:+][a-z0-9]+)*%?")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Function characters: a bigram holding one ("的研", "是什") says nothing about the topic.
_STOP_CHARS = frozenset("的了是在和与及或也都就还又很吗呢吧啊么个这那其之他她它哪什该")
_STOP = frozenset(
    "a an and are as at be by does did do for from has have how in is it its of on or that the their this to was "
    "were what when where which who whom why with than into about".split()
    + list("的了是在和与及或而把被对也都就还又很吗呢吧啊么个这那其之")
    + "什么 哪些 哪个 哪篇 哪种 多少 如何 怎么 怎样 为什么 是否 一个 我们 他们".split()
    + "可以 通过 进行 以及 使用 论文 里 中".split()
)


def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def _singular(word: str) -> str:
    """A light English stemmer: 'embeddings' and 'embedding' meet, 'qwen3' and 'loss' stay as they are."""
    if not word.isalpha() or len(word) <= 3 or word.endswith("ss"):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


def _chinese_words(run: str) -> list[str]:
    return [w for w in _jieba().lcut(run) if len(w) > 1]


def tokenize(text: str) -> list[str]:
    """Splits text into BM25 terms.

    Latin-script words and numbers are case-folded and kept whole (plus their parts); Chinese runs give
    jieba words and overlapping character bigrams, so a paraphrase that shares two characters still matches.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    for match in _LATIN.finditer(text):
        word = match.group(0)
        tokens.append(_singular(word))
        parts = re.split(r"[-_./:+]", word.rstrip("%"))
        if len(parts) > 1:
            tokens.extend(_singular(p) for p in parts if len(p) > 1)
    for match in _CJK_RUN.finditer(text):
        run = match.group(0)
        tokens.extend(_chinese_words(run))
        tokens.extend(
            run[i : i + 2] for i in range(len(run) - 1) if run[i] not in _STOP_CHARS and run[i + 1] not in _STOP_CHARS
        )
        if len(run) == 1:
            tokens.append(run)
    return [t for t in tokens if t not in _STOP]


def name_terms(text: str, terms: list[str]) -> list[str]:
    """The terms of a question that name things: its Latin-script words and figures, and the pinyin of its
    Chinese words ("快手" -> "kuaishou", "研究所" -> "yanjiusuo").

    Digests spell Chinese companies, places and addresses in pinyin, and OCR'd pages keep little but such
    Latin-script words legible, so these terms get a ranking of their own (see `KeywordIndex.search`).

    Args:
        terms: `tokenize(text)`, which the caller already has.
    """
    from pypinyin import lazy_pinyin

    latin = [t for t in terms if t.isascii()]
    text = unicodedata.normalize("NFKC", text)
    words = [w for run in _CJK_RUN.findall(text) for w in _chinese_words(run) if w not in _STOP]
    return latin + ["".join(lazy_pinyin(w)) for w in words]


def _bm25s():
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import
    return bm25s


# Each row's terms are saved beside the index, so an update re-tokenizes only new text (jieba is most of the
# cost: about 1 ms a chunk, 114 s for 100k chunks). Bump the version whenever `tokenize` changes.
TERMS_FILE = "terms.txt"
TERMS_VERSION = "rag-terms 1"


class KeywordIndex:
    """A BM25 index (bm25s) whose row i is chunk i of the store."""

    def __init__(self, bm25, terms: list[list[str]] | None = None) -> None:
        self.bm25 = bm25
        self.vocab = bm25.vocab_dict
        self.terms = terms  # kept only when built, to be saved

    @classmethod
    def build(cls, texts: list[str], known: list[list[str] | None] | None = None) -> KeywordIndex:
        """Indexes `texts`; `known[i]`, when given and not None, is the terms of texts[i] from an earlier build."""
        terms = [k if k is not None else tokenize(t) for t, k in zip(texts, known or [None] * len(texts), strict=True)]
        bm25 = _bm25s().BM25()
        # An empty token keeps documents that have no terms at all from breaking the index.
        bm25.index([t or [""] for t in terms], show_progress=False)
        return cls(bm25, terms)

    @staticmethod
    def read_terms(path: Path) -> list[list[str]] | None:
        """The terms of each row saved with the index at `path`, or None if missing or from another tokenizer."""
        try:
            lines = (path / TERMS_FILE).read_text(encoding="utf-8").split("\n")
        except OSError:
            return None
        if lines[0] != TERMS_VERSION:
            return None
        return [line.split() for line in lines[1:-1]]

    @property
    def size(self) -> int:
        return int(self.bm25.scores["num_docs"])

    def save(self, path: Path) -> None:
        self.bm25.save(str(path), show_progress=False)
        if self.terms is not None:
            rows = "".join(" ".join(t) + "\n" for t in self.terms)
            (path / TERMS_FILE).write_text(f"{TERMS_VERSION}\n{rows}", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        return cls(_bm25s().BM25.load(str(path), mmap=True))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Returns the k best rows for a question, best first, as (row, score).

        The score is BM25 over all the question's terms. When the question also has naming terms (see
        `name_terms`) that are not all of its terms, a BM25 ranking over those alone is fused in by
        reciprocal rank: otherwise a Chinese question's many common words outvote the one rare name that
        a page of garbled OCR shares with it. Measured on eval/gold.jsonl, keyword stage alone: hit@10
        0.81 -> 0.98, MRR@10 0.50 -> 0.58.
        """
        terms = tokenize(query)
        ranked = self._bm25(terms, k)
        names = name_terms(query, terms)
        if names and names != terms:
            ranked = rrf([ranked, self._bm25(names, k)])[:k]
        return ranked

    def _bm25(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        """(row, BM25 score) of the k best rows with a score above zero, best first."""
        terms = [t for t in terms if t in self.vocab]
        if not terms:
            return []
        scores = self.bm25.get_scores(terms)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(r), float(scores[r])) for r in top if scores[r] > 0]
