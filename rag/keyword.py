"""Keyword search: BM25 over tokens that work for Chinese (jieba words + character bigrams) and English/numbers."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
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


# Lucene's BM25 (as Lucene, Anserini and bm25s compute it); tests/test_keyword.py checks the scores against bm25s.
K1, B = 1.5, 0.75
# The keyword index stores term counts, not scores, so an update appends the new chunks' rows and drops the
# removed ones without touching the rest (only new text is tokenized: jieba costs about 1 ms a chunk, 114 s
# for 100k chunks). Terms only removed chunks had stay in the vocabulary, with no postings, until a rebuild.
# Bump the version whenever `tokenize` or the files change: an index saved by another version is refused at
# load, and `rag index --rebuild` rebuilds it.
VERSION = "rag-bm25 2"
_FILES = ("vocab.txt", "indptr.npy", "rows.npy", "counts.npy", "lengths.npy")


class KeywordIndex:
    """A BM25 index whose row i is chunk i of the store.

    Postings are kept by term (compressed sparse columns): term t occurs `counts[j]` times in row `rows[j]`
    for j in indptr[t]:indptr[t+1]. A question scores only the rows its terms occur in.
    """

    def __init__(
        self, vocab: dict[str, int], indptr: np.ndarray, rows: np.ndarray, counts: np.ndarray, lengths: np.ndarray
    ) -> None:
        self.vocab, self.indptr, self.rows, self.counts, self.lengths = vocab, indptr, rows, counts, lengths
        average = float(lengths.mean()) if len(lengths) and lengths.any() else 1.0
        self._norm = (K1 * (1 - B + B * lengths / average)).astype(np.float32)

    @classmethod
    def build(
        cls, texts: list[str], previous: KeywordIndex | None = None, reuse: list[int | None] | None = None
    ) -> KeywordIndex:
        """Indexes `texts`, tokenizing only those without a `reuse` row.

        Args:
            previous: An earlier index to take rows from.
            reuse: `reuse[i]`, when not None, is the row of `previous` that holds texts[i] (the same text).
        """
        import scipy.sparse as sp

        reuse = reuse if previous is not None and reuse is not None else [None] * len(texts)
        vocab = dict(previous.vocab) if previous is not None else {}
        old = previous.matrix().tocsr() if previous is not None else sp.csr_matrix((0, 0), dtype=np.uint16)
        indptr, ids, counts, source = [0], [], [], []
        for text, row in zip(texts, reuse, strict=True):
            if row is not None:
                source.append(row)
                continue
            source.append(old.shape[0] + len(indptr) - 1)
            for term, n in Counter(tokenize(text)).items():
                ids.append(vocab.setdefault(term, len(vocab)))
                counts.append(min(n, 65535))
            indptr.append(len(ids))
        width = len(vocab)
        new = sp.csr_matrix((np.array(counts, np.uint16), np.array(ids, np.int32), indptr), (len(indptr) - 1, width))
        old = sp.csr_matrix((old.data, old.indices, old.indptr), (old.shape[0], width))
        matrix = sp.vstack([old, new], format="csr")[np.array(source, dtype=np.int64)].tocsc()
        lengths = np.asarray(matrix.sum(axis=1), dtype=np.float32).ravel()
        return cls(vocab, matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32), matrix.data, lengths)

    def matrix(self):
        """The counts as a (rows x terms) scipy sparse matrix."""
        import scipy.sparse as sp

        return sp.csc_matrix((self.counts, self.rows, self.indptr), (len(self.lengths), len(self.vocab)))

    @property
    def size(self) -> int:
        return len(self.lengths)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        (path / "vocab.txt").write_text("\n".join([VERSION, *terms]) + "\n", encoding="utf-8")
        for name, array in zip(_FILES[1:], (self.indptr, self.rows, self.counts, self.lengths), strict=True):
            np.save(path / name, array)

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        """Opens a saved index; its postings are memory-mapped.

        Raises:
            ValueError: the files are from another version.
        """
        lines = (path / "vocab.txt").read_text(encoding="utf-8").split("\n")
        if lines[0] != VERSION:
            raise ValueError(f"keyword index version {lines[0][:40]!r}, this program reads {VERSION!r}")
        vocab = {term: i for i, term in enumerate(lines[1:-1])}
        indptr, rows, counts, lengths = (np.load(path / name, mmap_mode="r") for name in _FILES[1:])
        if len(indptr) != len(vocab) + 1 or len(rows) != len(counts) or (len(rows) and indptr[-1] != len(rows)):
            raise ValueError("keyword index files disagree on their sizes")
        return cls(vocab, indptr, rows, counts, np.asarray(lengths))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Returns the k best rows for a question, best first, as (row, score).

        The score is BM25 over all the question's terms. When the question also has naming terms (see
        `name_terms`) that are not all of its terms, a BM25 ranking over those alone is fused in by
        reciprocal rank: otherwise a Chinese question's many common words outvote the one rare name that
        a page of garbled OCR shares with it (docs/decisions/0011).
        """
        terms = tokenize(query)
        ranked = self._bm25(terms, k)
        names = name_terms(query, terms)
        if names and names != terms:
            ranked = rrf([ranked, self._bm25(names, k)])[:k]
        return ranked

    def _bm25(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        """(row, BM25 score) of the k best rows with a score above zero, best first.

        A term the question repeats counts as often as it appears (as in bm25s and Lucene's BooleanQuery).
        """
        scores = self.scores(terms)
        if not scores.any():
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(r), float(scores[r])) for r in top if scores[r] > 0]

    def scores(self, terms: list[str]) -> np.ndarray:
        """The BM25 score of every row for the terms."""
        scores = np.zeros(self.size, dtype=np.float32)
        n = self.size
        for term, times in Counter(t for t in terms if t in self.vocab).items():
            start, end = int(self.indptr[self.vocab[term]]), int(self.indptr[self.vocab[term] + 1])
            if start == end:
                continue
            rows, tf = self.rows[start:end], self.counts[start:end].astype(np.float32)
            df = end - start
            idf = np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))
            scores[rows] += times * idf * tf / (tf + self._norm[rows])  # no (k1 + 1): Lucene dropped it
        return scores
