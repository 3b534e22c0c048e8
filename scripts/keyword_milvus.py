"""Whether keyword search (rag/keyword.py's BM25) could move into Milvus's sparse vectors and rank as it does now.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/keyword_milvus.py   # writes docs/results/keyword-milvus.json and .md

The shipped corpus is chunked with the default config (as `rag index` does; nothing is embedded: the keyword
index reads only each chunk's `embed_text`) and indexed by `KeywordIndex.build`. The same chunks then go into
collections of a Milvus Lite file in a temp dir, two ways, the terms always those of `rag.keyword.tokenize`:

- A, "our BM25 as sparse vectors": a chunk's vector holds, for each of its terms, rag.keyword's saturated and
  length-normalised term weight tf / (tf + k1 (1 - b + b len / avgdl)); a question's vector holds idf x the
  times it repeats each term. SPARSE_INVERTED_INDEX, metric IP: the inner product is rag.keyword's score.
- B, Milvus's own BM25 (full text search): a VARCHAR field with an analyzer, a BM25 `Function` filling a sparse
  field, metric BM25. It is fed our tokens joined by single spaces; Milvus Lite has no whitespace analyzer (the
  error is recorded), and its standard one splits on non-word characters ("qwen3-8b", "12.5%"), so each token
  is written as "x" + its UTF-8 hex, which the standard analyzer keeps whole: the terms are ours, the idf,
  avgdl and tf counting Milvus's.

Both answer a question as `KeywordIndex.search` does: a BM25 ranking over all its terms and, when it has naming
terms (`name_terms`) that are not all its terms, one over those, fused by reciprocal rank. For each of the
questions of eval/ and the dev set, the top 10 of each approach is compared with `KeywordIndex.search(q, 10)`,
and the all-terms BM25 top 10 with rag.keyword's, scores included. Then an incremental update: the index of the
first shipped digest, then the second added, counting which stored vectors A would have to rewrite and what B
ranks after the insert. Last, the p50 latency of a question in each, warm, in this one process, over the
shipped corpus and over it copied COPIES times (its 185 chunks are few: Milvus Lite scores postings in Python).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from answer_report import commit, machine, write_results
from store_parity import questions

from rag import milvus
from rag.chunk import chunk_document
from rag.config import load_config
from rag.fuse import rrf
from rag.keyword import K1, B, KeywordIndex, name_terms, tokenize
from rag.load import load_corpus

K = 10
BATCH = 500
# The latency is measured again over the corpus copied this many times: the shipped one is small.
COPIES = 20
# A score of rag.keyword's and one of Milvus's are "the same" within this relative difference (float32 sums).
TOLERANCE = 1e-5
Ranked = list[tuple[int, float]]


def encode(term: str) -> str:
    """One of our terms as a word Milvus Lite's standard analyzer (regex \\w+, lowercased) keeps whole."""
    return "x" + term.encode("utf-8").hex()


def doc_weights(index: KeywordIndex, idf_in_doc: bool = False) -> Any:
    """Each chunk's sparse vector for approach A, as a (rows x terms) float32 CSR matrix.

    The weight of term t in chunk d is tf / (tf + k1 (1 - b + b |d| / avgdl)), times idf(t) when `idf_in_doc`
    (then a question's vector would hold only how often it names each term).
    """
    matrix = index.matrix().tocsr().astype(np.float32)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    weights = matrix.data / (matrix.data + index._norm[rows])
    if idf_in_doc:
        weights = weights * idf(index)[matrix.indices]
    matrix.data = weights.astype(np.float32)
    return matrix


def idf(index: KeywordIndex) -> np.ndarray:
    """rag.keyword's idf of every term of the vocabulary (Lucene's), as float32."""
    n, df = index.size, np.diff(np.asarray(index.indptr)).astype(np.float64)
    return np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)


def sparse_rows(matrix: Any) -> list[dict[int, float]]:
    return [
        {int(t): float(w) for t, w in zip(matrix.indices[s:e], matrix.data[s:e], strict=True)}
        for s, e in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)
    ]


def plan(question: str) -> tuple[list[str], list[str] | None]:
    """The question's terms, and its naming terms when `KeywordIndex.search` ranks them apart (else None)."""
    terms = tokenize(question)
    names = name_terms(question, terms)
    return terms, names if names and names != terms else None


def fused(ranked: Ranked, names: Ranked | None, k: int) -> Ranked:
    return ranked if names is None else rrf([ranked, names])[:k]


def hits(found: list[dict]) -> Ranked:
    # Milvus Lite ranks by -score inside and hands back the score; abs() reads either sign convention.
    return [(int(h["id"]), abs(float(h["distance"]))) for h in found]


class Approach:
    """One Milvus collection searched as `KeywordIndex.search` searches: `search(question) -> top 10` and
    `bm25(terms) -> the all-terms top 10`."""

    def __init__(self, client: Any, name: str, field: str, metric: str, query: Callable[[list[str]], Any]):
        self.client, self.name, self.field, self.metric, self.query = client, name, field, metric, query
        client.load_collection(name)

    def _search(self, queries: list[list[str]], k: int) -> list[Ranked]:
        data = [self.query(terms) for terms in queries]
        asked = [i for i, d in enumerate(data) if d]  # a question with no known term finds nothing, as in ours
        results: list[Ranked] = [[] for _ in queries]
        if asked:
            found = self.client.search(
                self.name,
                data=[data[i] for i in asked],
                anns_field=self.field,
                limit=k,
                search_params={"metric_type": self.metric},
            )
            for i, hits_of in zip(asked, found, strict=True):
                results[i] = hits(hits_of)
        return results

    def bm25(self, terms: list[str]) -> Ranked:
        return self._search([terms], K)[0]

    def search(self, question: str, k: int = K) -> Ranked:
        terms, names = plan(question)
        if names is None:
            return self._search([terms], k)[0]
        ranked, by_name = self._search([terms, names], k)  # one call for both rankings
        return fused(ranked, by_name, k)


def create(client: Any, name: str, text: bool, metric: str, analyzer: dict | None = None) -> None:
    """A collection: id, a sparse field "sparse" and, when `text`, a VARCHAR "text" that a BM25 Function turns
    into the sparse field."""
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    if text:
        schema.add_field(
            "text", DataType.VARCHAR, max_length=65535, enable_analyzer=True, analyzer_params=analyzer or {}
        )
        schema.add_function(
            Function(
                name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]
            )
        )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    params = {"bm25_k1": K1, "bm25_b": B} if metric == "BM25" else {}
    index = client.prepare_index_params()
    index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type=metric, params=params)
    client.create_collection(name, schema=schema)
    client.create_index(name, index, sync=False)  # as rag/milvus.py: Milvus Lite has no timestamp to wait on


def insert(client: Any, name: str, rows: list[dict]) -> float:
    """Inserts the rows and flushes them into a segment; returns the seconds it took."""
    start = time.perf_counter()
    for at in range(0, len(rows), BATCH):
        client.insert(name, rows[at : at + BATCH])
    client.flush(name)
    return time.perf_counter() - start


def text_rows(tokens: list[list[str]], first_id: int = 0) -> list[dict]:
    return [{"id": first_id + i, "text": " ".join(map(encode, t))} for i, t in enumerate(tokens)]


def vector_rows(matrix: Any, first_id: int = 0) -> list[dict]:
    return [{"id": first_id + i, "sparse": v} for i, v in enumerate(sparse_rows(matrix))]


def approach_a(client: Any, name: str, index: KeywordIndex) -> Approach:
    weights = idf(index)

    def query(terms: list[str]) -> dict[int, float]:
        times = Counter(index.vocab[t] for t in terms if t in index.vocab)
        return {t: float(np.float32(n) * weights[t]) for t, n in times.items()}

    return Approach(client, name, "sparse", "IP", query)


def approach_b(client: Any, name: str) -> Approach:
    return Approach(client, name, "sparse", "BM25", lambda terms: " ".join(map(encode, terms)))


def overlap(a: list[int], b: list[int]) -> float:
    """The share of the longer list the two have in common (1 when both are empty: nothing found either way)."""
    return len(set(a) & set(b)) / max(len(a), len(b)) if a or b else 1.0


def compare(ours: list[Ranked], theirs: list[Ranked]) -> dict:
    """Counts of questions whose ranking is the same, in order and as a set, and the overlap of the two."""
    pairs = [([r for r, _ in a], [r for r, _ in b]) for a, b in zip(ours, theirs, strict=True)]
    return {
        "same_order": sum(a == b for a, b in pairs),
        "same_set": sum(set(a) == set(b) for a, b in pairs),
        "mean_overlap": round(statistics.fmean(overlap(a, b) for a, b in pairs), 4),
        "min_overlap": round(min(overlap(a, b) for a, b in pairs), 4),
    }


def ours_up_to_ties(scores: np.ndarray, ranked: Ranked, theirs: Ranked) -> bool:
    """Whether `theirs` lists rows whose `scores` (ours, of every row) are, in order, those of our ranking
    `ranked`: it differs from ours only in how rows of equal score are ordered, or cut at the end."""
    return len(ranked) == len(theirs) and bool(
        np.allclose([scores[r] for r, _ in theirs], [s for _, s in ranked], rtol=TOLERANCE, atol=0)
    )


def compare_search(index: KeywordIndex, approach: Approach, asked: list[str], k: int) -> dict:
    """`compare` of `KeywordIndex.search(q, k)` and the approach's, and how many of the questions ranked apart
    differ only in ties: each BM25 ranking fused (all terms, names) lists rows of our scores, in our order."""
    ours = [index.search(q, k) for q in asked]
    theirs = [approach.search(q, k) for q in asked]
    figures = compare(ours, theirs)
    tied = 0
    for question, a, b in zip(asked, ours, theirs, strict=True):
        if [r for r, _ in a] == [r for r, _ in b]:
            continue
        terms, names = plan(question)
        tied += all(
            ours_up_to_ties(index.scores(t), index._bm25(t, k), approach._search([t], k)[0])
            for t in ([terms] if names is None else [terms, names])
        )
    figures["differ_only_in_tied_scores"] = tied
    return figures


def compare_scores(index: KeywordIndex, approach: Approach, plans: list, scale: float) -> dict:
    """`compare` of the BM25 top 10 over all a question's terms, ours and the approach's; how many of those
    ranked apart differ only in ties, and how far the scores of identical rankings are from ours (theirs /
    `scale`)."""
    ours = [index._bm25(terms, K) for terms, _ in plans]
    theirs = [approach.bm25(terms) for terms, _ in plans]
    figures = compare(ours, theirs)
    differences, tied = [], 0
    for (terms, _), a, b in zip(plans, ours, theirs, strict=True):
        if [r for r, _ in a] == [r for r, _ in b]:
            differences += [abs(x / scale - y) / max(abs(y), 1e-9) for (_, y), (_, x) in zip(a, b, strict=True)]
        else:
            tied += ours_up_to_ties(index.scores(terms), a, b)
    figures["differ_only_in_tied_scores"] = tied
    figures["max_relative_score_difference"] = float(f"{max(differences, default=0.0):.3g}")
    return figures


def p50(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 3)


def time_each(asked: list[str], runs: dict[str, Callable[[str], object]]) -> dict[str, float]:
    """p50 milliseconds of each run over the questions, after a warm-up pass; the runs take turns per question."""
    for question in asked:
        for run in runs.values():
            run(question)
    spent: dict[str, list[float]] = {name: [] for name in runs}
    for question in asked:
        for name, run in runs.items():
            start = time.perf_counter()
            run(question)
            spent[name].append(time.perf_counter() - start)
    return {name: p50(s) for name, s in spent.items()}


def unsupported(client: Any) -> dict[str, str]:
    """What Milvus Lite refuses of the full-text-search setup, in its own words."""
    errors = {}
    quiet = logging.getLogger("pymilvus")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # it logs each refusal with a traceback
    try:
        for tokenizer in ("whitespace", "icu"):
            try:
                create(client, f"refused_{tokenizer}", text=True, metric="BM25", analyzer={"tokenizer": tokenizer})
                client.insert(f"refused_{tokenizer}", [{"id": 0, "text": "a b"}])
                errors[f"analyzer {tokenizer!r}"] = "accepted"
            except Exception as e:  # pymilvus raises MilvusException subclasses with the server's message
                said = f"code {e.code}: {e.message}" if hasattr(e, "message") else str(e)
                errors[f"analyzer {tokenizer!r}"] = f"{type(e).__name__} ({said})"
    finally:
        quiet.setLevel(level)
    return errors


def segments(folder: str, name: str) -> int:
    """The data files (flushed segments) of a collection in the Milvus Lite file."""
    return len(list((Path(folder) / milvus.LITE_FILE / "collections" / name).rglob("data_*.parquet")))


def standard_splits(index: KeywordIndex, tokens: list[list[str]]) -> dict:
    """How many of our terms (and their occurrences) Milvus Lite's standard analyzer would not keep whole."""
    from milvus_lite.analyzer.standard import StandardAnalyzer

    analyzer = StandardAnalyzer()
    split = {t for t in index.vocab if analyzer.tokenize(t) != [t]}
    seen = Counter(t for chunk in tokens for t in chunk if t in split)
    return {
        "terms": len(split),
        "of_terms": len(index.vocab),
        "occurrences": sum(seen.values()),
        "of_occurrences": sum(len(t) for t in tokens),
        "examples": [t for t, _ in seen.most_common(8)],
    }


def collisions(terms: list[str]) -> int:
    """Terms whose Milvus term id (a 32-bit FNV-1a hash of the encoded term) another term already has."""
    from milvus_lite.analyzer.hash import term_to_id

    ids = Counter(term_to_id(encode(t)) for t in terms)
    return sum(n - 1 for n in ids.values())


def update_cost(first: list[str], second: list[str]) -> dict:
    """What approach A must rewrite when the second digest's chunks are added to an index of the first's."""
    before = KeywordIndex.build(first)
    after = KeywordIndex.build(first + second, before, list(range(len(first))) + [None] * len(second))
    figures: dict[str, Any] = {
        "chunks_before": before.size,
        "chunks_added": len(second),
        "avgdl_before": round(float(before.lengths.mean()), 2),
        "avgdl_after": round(float(after.lengths.mean()), 2),
        "terms_before": len(before.vocab),
        "terms_added": len(after.vocab) - len(before.vocab),
    }
    old_df = np.diff(np.asarray(before.indptr))
    new_df = np.diff(np.asarray(after.indptr))[: len(before.vocab)]
    figures["terms_whose_df_changed"] = int((old_df != new_df).sum())
    figures["terms_whose_idf_changed"] = int((idf(before) != idf(after)[: len(before.vocab)]).sum())
    for form, idf_in_doc in (("idf_in_query", False), ("idf_in_doc", True)):
        old = doc_weights(before, idf_in_doc)
        new = doc_weights(after, idf_in_doc)[: before.size].tocsr()
        new = new[:, : len(before.vocab)].tocsr()  # the old chunks hold no new term
        changed = old != new
        figures[form] = {
            "old_vectors_rewritten": int(len(np.unique(changed.nonzero()[0]))),
            "weights_rewritten": int(changed.nnz),
            "of_weights": int(old.nnz),
        }
    return figures


def main() -> int:
    config = load_config(None)
    documents, _ = load_corpus([Path(p) for p in config.corpus.paths])
    pieces = [chunk_document(d, config.chunk) for d in documents]  # in the order `rag index` stores them
    texts = [c.embed_text for chunks in pieces for c in chunks]
    print(f"{len(documents)} digests, {len(texts)} chunks: tokenizing", file=sys.stderr)
    index = KeywordIndex.build(texts)
    tokens = [tokenize(t) for t in texts]
    asked = questions()
    plans = [plan(q) for q in asked]
    depth = config.search.depth  # how deep the retriever asks (`Retriever.stages`), before fusing with dense

    report: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "versions": {p: importlib.metadata.version(p) for p in ("pymilvus", "milvus-lite")},
        "digests": [d.doc_id for d in documents],
        "chunks": len(texts),
        "terms": len(index.vocab),
        "questions": len(asked),
        "questions_with_name_ranking": sum(names is not None for _, names in plans),
        "depth": depth,
    }
    with tempfile.TemporaryDirectory() as folder:
        client = milvus.client("", Path(folder))
        report["refused"] = unsupported(client)
        report["standard_analyzer_splits"] = standard_splits(index, tokens)
        report["term_id_collisions"] = {
            "vocabulary": collisions(list(index.vocab)),
            "vocabulary_and_question_terms": collisions(
                sorted(set(index.vocab) | {t for terms, names in plans for t in terms + (names or [])})
            ),
        }

        print("A: our BM25 weights as sparse vectors, metric IP", file=sys.stderr)
        create(client, "bm25_ours", text=False, metric="IP")
        build_a = insert(client, "bm25_ours", vector_rows(doc_weights(index)))
        a = approach_a(client, "bm25_ours", index)
        print("B: Milvus's BM25 function over our tokens", file=sys.stderr)
        create(client, "bm25_milvus", text=True, metric="BM25", analyzer={"tokenizer": "standard"})
        build_b = insert(client, "bm25_milvus", text_rows(tokens))
        b = approach_b(client, "bm25_milvus")

        report["approaches"] = {}
        for label, approach, scale, seconds in (("A", a, 1.0, build_a), ("B", b, K1 + 1, build_b)):
            report["approaches"][label] = {
                "insert_and_flush_s": round(seconds, 2),
                "segments": segments(folder, approach.name),
                "search": compare_search(index, approach, asked, K),
                "search_at_depth": compare_search(index, approach, asked, depth),
                "bm25": compare_scores(index, approach, plans, scale),
            }

        print("latency", file=sys.stderr)
        report["load_average"] = round(os.getloadavg()[0], 2)  # other work on the machine slows every column
        report["p50_ms"] = time_each(
            asked,
            {
                "ours": lambda q: index.search(q, K),
                "A": a.search,
                "B": b.search,
                "tokenize_only": plan,
            },
        )

        print(f"latency over the corpus copied {COPIES} times", file=sys.stderr)
        big = KeywordIndex.build(texts * COPIES)
        create(client, "scaled_ours", text=False, metric="IP")
        create(client, "scaled_milvus", text=True, metric="BM25", analyzer={"tokenizer": "standard"})
        report["scaled"] = {
            "copies": COPIES,
            "chunks": big.size,
            "insert_and_flush_s": {
                "A": round(insert(client, "scaled_ours", vector_rows(doc_weights(big))), 2),
                "B": round(insert(client, "scaled_milvus", text_rows(tokens * COPIES)), 2),
            },
        }
        big_a, big_b = approach_a(client, "scaled_ours", big), approach_b(client, "scaled_milvus")
        report["scaled"]["p50_ms"] = time_each(
            asked, {"ours": lambda q: big.search(q, K), "A": big_a.search, "B": big_b.search}
        )

        print("incremental update: the first digest, then the second", file=sys.stderr)
        first, second = (len(chunks) for chunks in pieces[:2])
        update = update_cost(texts[:first], texts[first : first + second])
        # B: the first digest's rows in a segment, then the second's added as rows of their own; ranked against
        # rag.keyword over both digests (an update of ours ranks exactly as a rebuild: it stores counts).
        both = KeywordIndex.build(texts[: first + second])
        create(client, "bm25_milvus_updated", text=True, metric="BM25", analyzer={"tokenizer": "standard"})
        insert(client, "bm25_milvus_updated", text_rows(tokens[:first]))
        added_b = insert(client, "bm25_milvus_updated", text_rows(tokens[first : first + second], first))
        b_updated = approach_b(client, "bm25_milvus_updated")
        update["B"] = {
            "rows_written": second,
            "rows_rewritten": 0,
            "insert_and_flush_s": round(added_b, 2),
            "segments": segments(folder, "bm25_milvus_updated"),
            "search_after_update": compare_search(both, b_updated, asked, K),
        }
        # A without the rewrite: the first digest's vectors as weighted before, the second's with the new avgdl.
        before = KeywordIndex.build(texts[:first])
        create(client, "bm25_ours_stale", text=False, metric="IP")
        insert(client, "bm25_ours_stale", vector_rows(doc_weights(before)))
        insert(client, "bm25_ours_stale", vector_rows(doc_weights(both)[first : first + second], first))
        stale = approach_a(client, "bm25_ours_stale", both)
        update["A_not_rewritten"] = {"search_after_update": compare_search(both, stale, asked, K)}
        report["update"] = {"first": documents[0].doc_id, "second": documents[1].doc_id, **update}
        client.close()
        milvus._release(str(Path(folder) / milvus.LITE_FILE))
    write_results("keyword-milvus", report, render)
    return 0


def render(report: dict) -> str:
    n, a, b = report["questions"], report["approaches"]["A"], report["approaches"]["B"]
    u, splits = report["update"], report["standard_analyzer_splits"]
    lines = [
        "# Keyword search in Milvus against rag.keyword",
        "",
        f"Measured {report['date']} at {report['commit']} on {report['machine']} by `scripts/keyword_milvus.py`, "
        f"with pymilvus {report['versions']['pymilvus']} and Milvus Lite {report['versions']['milvus-lite']}: the "
        f"shipped corpus ({report['chunks']} chunks, {report['terms']} terms of `rag.keyword.tokenize`), "
        f"{n} questions of eval/ and the dev set ({report['questions_with_name_ranking']} of them with a naming-terms "
        "ranking fused in). A: each chunk a sparse vector of rag.keyword's saturated, length-normalised term "
        "weights, each question one of idf x repeats, metric IP. B: Milvus's BM25 function over our tokens "
        "(hex-encoded, so its standard analyzer keeps them whole), metric BM25.",
        "",
        "| compared with rag.keyword | A: our weights, IP | B: Milvus's BM25 |",
        "|---|---|---|",
    ]
    d = report["depth"]
    for what, key in (
        ("`search` top 10", "search"),
        (f"`search` top {d} (the retriever's depth)", "search_at_depth"),
        ("BM25 over all terms, top 10", "bm25"),
    ):
        x, y = a[key], b[key]
        lines += [
            f"| {what}: same order | {x['same_order']}/{n} | {y['same_order']}/{n} |",
            f"| {what}: of the rest, differing only among tied scores | {x['differ_only_in_tied_scores']} "
            f"| {y['differ_only_in_tied_scores']} |",
            f"| {what}: same set | {x['same_set']}/{n} | {y['same_set']}/{n} |",
            f"| {what}: overlap, mean (lowest) | {x['mean_overlap']} ({x['min_overlap']}) "
            f"| {y['mean_overlap']} ({y['min_overlap']}) |",
        ]
    lines += [
        f"| BM25: largest relative score difference where the same (B's / (k1 + 1)) "
        f"| {a['bm25']['max_relative_score_difference']} | {b['bm25']['max_relative_score_difference']} |",
        f"| insert and flush every chunk: seconds (segments) | {a['insert_and_flush_s']} ({a['segments']}) "
        f"| {b['insert_and_flush_s']} ({b['segments']}) |",
    ]
    p = report["p50_ms"]
    lines += [
        "",
        f"p50 of a question, warm, in one process (load average {report['load_average']} when timing began): "
        f"rag.keyword {p['ours']} ms, A {p['A']} ms, B {p['B']} ms "
        f"(tokenizing alone: {p['tokenize_only']} ms). Over the corpus copied {report['scaled']['copies']} times "
        f"({report['scaled']['chunks']} chunks): rag.keyword {report['scaled']['p50_ms']['ours']} ms, "
        f"A {report['scaled']['p50_ms']['A']} ms, B {report['scaled']['p50_ms']['B']} ms.",
        "",
        f"Incremental update ({u['first']}: {u['chunks_before']} chunks, then {u['second']}: {u['chunks_added']} "
        f"more): avgdl {u['avgdl_before']} -> {u['avgdl_after']}, df changed for {u['terms_whose_df_changed']} "
        f"and idf for {u['terms_whose_idf_changed']} of the {u['terms_before']} terms.",
        "",
        "| on adding the second digest | old vectors rewritten | stored weights rewritten |",
        "|---|---|---|",
    ]
    for form in ("idf_in_query", "idf_in_doc"):
        f = u[form]
        lines.append(
            f"| A, idf {'in the question' if form == 'idf_in_query' else 'in the stored weights'} "
            f"| {f['old_vectors_rewritten']}/{u['chunks_before']} | {f['weights_rewritten']}/{f['of_weights']} |"
        )
    lines += [
        f"| B (Milvus keeps term counts; statistics at search time) | {u['B']['rows_rewritten']} | 0 |",
        "",
        "Top 10 of `search` after the update, against rag.keyword over both digests (which ranks as a rebuild):",
        "",
        "| after adding the second digest | same order (of the rest, only ties) | same set | overlap, mean |",
        "|---|---|---|---|",
    ]
    for what, f in (
        (f"B, the second digest's rows inserted ({u['B']['segments']} segments)", u["B"]["search_after_update"]),
        ("A, the second digest's vectors inserted, the old ones left", u["A_not_rewritten"]["search_after_update"]),
    ):
        lines.append(
            f"| {what} | {f['same_order']}/{n} ({f['differ_only_in_tied_scores']}) | {f['same_set']}/{n} "
            f"| {f['mean_overlap']} |"
        )
    lines += [
        "",
        "Milvus Lite's analyzers: standard (regex \\w+) and jieba only. "
        + "; ".join(f"{what}: {said}" for what, said in report["refused"].items())
        + f". The standard analyzer would split {splits['terms']} of our {splits['of_terms']} terms "
        f"({splits['occurrences']} of {splits['of_occurrences']} occurrences), e.g. "
        + ", ".join(f"`{t}`" for t in splits["examples"])
        + f". Term ids are 32-bit hashes: {report['term_id_collisions']['vocabulary']} collisions in our vocabulary, "
        f"{report['term_id_collisions']['vocabulary_and_question_terms']} with the questions' terms added.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
