"""Check an answer's [n] markers: each must name a given passage that supports its sentence."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.keyword import tokenize

# [1], [2, 3], [1][2], 【1】 and full-width commas, as small models write them.
_MARKER = re.compile(r"\s*[\[【]\s*(\d{1,2}(?:\s*[,，、;]\s*\d{1,2})*)\s*[\]】]")
# A sentence ends at Chinese end punctuation, or at . ! ? before a space or the end (so 12.5 stays whole, and
# so does OCR's "70. 58": a full stop between digits is a decimal point); markers written just after the full
# stop still belong to the sentence before. A line break ends one too, except a soft wrap inside English text
# (OCR: "reflected by higher Creativity\nIndex [12].").
_SENTENCE_END = re.compile(
    r"(?:[。！？]|(?<!\d)[.!?](?=\s|$|[\[【])|(?<=\d)[.!?](?=\s*$|\s+\D|[\[【]))(?:\s*[\[【][\d\s,，、;]+[\]】])*|"
    r"\n{2,}|(?<![A-Za-z,;-])\n|\n(?![A-Za-z])"
)
# A date is one figure: "2026-02-10" under every passage's title must not supply a "10" or a "2". OCR's "70. 58"
# is one figure too, 70.58 (as for sentences, a full stop between digits is a decimal point).
_NUMBER = re.compile(r"\d{4}-\d{2}(?:-\d{2})?(?!\d)|\d+(?:(?:[.,]|\. )\d+)*")
# "1. **应用领域**", "### 5. 实验效果", "2)": the numbers of list items and headings are no figures.
_LIST_NUMBER = re.compile(r"^[ \t>#*-]*\d{1,2}[.)、](?=\s|\*|$)", re.MULTILINE)
# A name: a Latin-script word with a capital or a figure after its first letter ("MIT", "HPSv3", "LatentChem",
# "M1"); "Mac" or "Index" are words. Chinese characters around it do not hide it ("使用HPSv3打分").
_NAME = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][a-z]*[A-Z0-9][A-Za-z0-9]*(?![A-Za-z0-9])")
_PLURAL_ACRONYM = re.compile(r"^([A-Z][A-Z0-9]+)s$")  # "GPUs", "LLMs"
# Metrics spelled out, in either language, with their short names: "word error rate of 0.922" needs a WER
# (or 词错误率) beside that figure in the passage, as "WER of 0.922" does.
_METRICS = [
    ("wer", "word error rate", "词错误率", "字错误率"),
    ("cer", "character error rate", "字符错误率"),
    ("sim", "similarity", "相似度"),
    ("ppl", "perplexity", "困惑度"),
    ("acc", "accuracy", "准确率", "正确率", "精度"),
    ("success rate", "成功率"),
    ("win rate", "胜率"),
    ("recall", "召回率"),
    ("precision", "精确率"),
    ("latency", "延迟", "时延"),
    ("throughput", "吞吐量", "吞吐"),
]
_ALIASES = {word: group for group in _METRICS for word in group}
_METRIC = (
    "(?i:"
    + "|".join(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])" for w in sorted(_ALIASES, key=len, reverse=True))
    + ")"
)
# A figure with the metric named just before it: "WER of 0.922", "SIM 达到 0.922", "MMTEB: 70.58",
# "perplexity reaches 20.11".
_LABELLED = re.compile(
    rf"({_METRIC}|{_NAME.pattern})[\s)）]*(?:of|is|was|reaches|reached|=|:|为|是|达到|达)?\s*({_NUMBER.pattern})"
)
_END_PUNCT = "。！？.!?；;：:，,"
# A figure's unit, in either language: "42,000 parameters" is not what "42,000 小时" (hours) says. Units
# outside these groups, and figures with none, are not compared.
_UNITS = {
    word: unit
    for unit, words in {
        "hour": ("hour", "hours", "hrs", "h", "小时"),
        "day": ("day", "days", "天"),
        "minute": ("minute", "minutes", "min", "mins", "分钟"),
        "second": ("second", "seconds", "sec", "secs", "s", "秒"),
        "parameter": ("parameter", "parameters", "params", "参数"),
        "token": ("token", "tokens"),
        "gpu": ("gpu", "gpus", "卡"),
        "percent": ("%", "percent"),
        "times": ("x", "×", "times", "fold", "倍"),
    }.items()
    for word in words
}
# What follows a figure: "-hour", " 个参数", "%"; a Chinese unit is looked up on its first two characters.
_AFTER_FIGURE = re.compile(r"\s*-?\s*(?:[个多余]\s*)?([A-Za-z]+(?![A-Za-z0-9])|%|×|[\u4e00-\u9fff]{1,2})")

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")

Similarity = Callable[[str, list[str]], list[float]]  # (sentence, passages) -> one score per passage


@dataclass(frozen=True)
class Checked:
    """An answer after checking.

    Attributes:
        text: The answer with every marker pointing at a passage that supports its sentence.
        cited: (n, start, end) per passage cited, the span being the passage sentence that best supports it.
        sentences: How many claim sentences the answer has.
        unsupported: Claim sentences no given passage supports (their markers were removed).
        repaired: How many sentences had a marker added, re-pointed or dropped.
    """

    text: str
    cited: tuple[tuple[int, int, int], ...]
    sentences: int
    unsupported: tuple[str, ...]
    repaired: int


def sentences(text: str) -> list[tuple[int, int]]:
    """Splits text into (start, end) spans that cover it; whitespace-only spans are left out."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def language(text: str) -> str:
    """Returns "zh" when Chinese characters outnumber Latin words (names like MOVA do not make it English)."""
    return "zh" if len(CJK.findall(text)) > len(_LATIN_WORD.findall(text)) else "en"


def markers(sentence: str) -> list[int]:
    return [int(n) for group in _MARKER.findall(sentence) for n in re.findall(r"\d+", group)]


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


def _numbers(text: str) -> dict[str, set[str | None]]:
    """Each figure of the text, with the units written after it (None for a figure with no known unit)."""
    text = _LIST_NUMBER.sub("", unicodedata.normalize("NFKC", strip_markers(text)))  # "[1]" is no figure either
    found: dict[str, set[str | None]] = {}
    for match in _NUMBER.finditer(text):
        after = _AFTER_FIGURE.match(text, match.end())
        word = after.group(1).lower() if after else ""
        unit = _UNITS.get(word) if word.isascii() else _UNITS.get(word, _UNITS.get(word[:1]))
        found.setdefault(match.group().replace(",", "").replace(" ", ""), set()).add(unit)
    return found


def figures(text: str) -> list[str]:
    """The figures of a text: numbers that are no list number, [n] marker, date, link or part of a name ("Qwen3")."""
    text = _LIST_NUMBER.sub("", unicodedata.normalize("NFKC", strip_markers(text)))
    text = re.sub(r"\d{4}-\d{2}(?:-\d{2})?(?!\d)|\bhttps?://\S+", " ", text)
    return [f.replace(" ", "") for f in re.findall(r"(?<![A-Za-z0-9.])\d+(?:(?:[.,]|\. )\d+)*", text)]


def units(text: str) -> dict[str, set[str | None]]:
    """Each figure of the text (see `figures`) with the units written after it (None: no known unit)."""
    found = _numbers(text)
    return {f: found.get(f.replace(",", ""), {None}) for f in figures(text)}


def units_asked(question: str) -> set[str]:
    """The units a question names ("how many GPUs", "多少小时"); one-letter spellings ("h", "x") do not count."""
    text = unicodedata.normalize("NFKC", question).lower()
    words = re.findall(r"[a-z]{2,}|%", text)
    asked = {_UNITS[w] for w in words if w in _UNITS}
    return asked | {unit for word, unit in _UNITS.items() if CJK.match(word) and word in text}


def numbers_match(sentence: str, passage: str) -> bool:
    """True when every number of the sentence occurs in the passage (a changed figure is never supported),
    and in the same unit when both name one."""
    held = _numbers(passage)
    for number, units in _numbers(sentence).items():
        if number not in held:
            return False
        said = units - {None}
        if said and None not in held[number] and not said & held[number]:
            return False  # "42,000 parameters" where the passage only has "42,000 小时"
    return True


def labels_match(sentence: str, passage: str) -> bool:
    """True when each figure the sentence labels with a metric ("WER of 0.922") sits in a passage sentence
    naming that metric too: "SIM 达到 0.922" does not back a WER of 0.922."""
    labelled = _LABELLED.findall(unicodedata.normalize("NFKC", strip_markers(sentence)).replace("*", ""))
    if not labelled:
        return True
    passage = unicodedata.normalize("NFKC", passage).replace("*", "")
    held = [(passage[s:e].lower(), _numbers(passage[s:e])) for s, e in sentences(passage)]
    return all(
        any(
            any(name in text for name in _ALIASES.get(label.lower(), (label.lower(),)))
            and number.replace(",", "") in figures
            for text, figures in held
        )
        for label, number in labelled
    )


def names(text: str) -> list[str]:
    """The names of a text ("MOVA", "GSM8K", "HPSv3"), in order; an acronym's plural is the acronym ("GPUs")."""
    return [_PLURAL_ACRONYM.sub(r"\1", name) for name in _NAME.findall(strip_markers(text))]


def aliases(name: str) -> tuple[str, ...]:
    """The spellings of a name: a metric's short name, words and Chinese ("WER", "word error rate", "词错误率")."""
    return _ALIASES.get(name.lower(), (name,))


def names_match(sentence: str, passage: str, known: frozenset[str] = frozenset()) -> bool:
    """True when every name of the sentence occurs in the passage or is one of the `known` terms (the
    question's): a small model asked what the digests do not say names a licence or a lab of its own.
    An acronym's plural names the acronym: "64 GPUs" is backed by "64 张 GPU"."""
    text = unicodedata.normalize("NFKC", passage).lower()
    return all(name.lower() in known or name.lower() in text for name in names(sentence))


def subject_match(sentence: str, passage: str) -> bool:
    """True when a sentence with figures and names has one of its names in the passage (the question's names
    included): a figure is backed where its subject is, not by another paper's passage holding the same number."""
    said = names(sentence)
    if not said or not figures(sentence):
        return True
    text = unicodedata.normalize("NFKC", passage).lower()
    return any(name.lower() in text for name in said)


def details_match(sentence: str, passage: str, known: frozenset[str] = frozenset()) -> bool:
    """True when the passage holds every number of the sentence (in its unit, and by its metric, beside one of
    the sentence's names), and every name of it the question does not."""
    return (
        numbers_match(sentence, passage)
        and labels_match(sentence, passage)
        and names_match(sentence, passage, known)
        and subject_match(sentence, passage)
    )


def support(sentence: str, passage: str, known: frozenset[str] = frozenset()) -> float:
    """Scores how well `passage` backs `sentence`: 0 if a number or a new name of the sentence is missing
    from it (see `details_match`), else the share of the sentence's terms found in it.

    Args:
        known: Terms to leave out when the sentence has others (the question's: an answer restating the
            question shares its words with every passage on the topic, whatever it adds).
    """
    sentence = strip_markers(sentence)
    if not details_match(sentence, passage, known):
        return 0.0
    terms = set(tokenize(sentence))
    terms = (terms - known) or terms
    if not terms:
        return 0.0
    return len(terms & set(tokenize(passage))) / len(terms)


def best_span(passage: str, sentence: str) -> tuple[int, int]:
    """The span of the passage sentence sharing the most terms with `sentence` (the whole passage if none)."""
    terms = set(tokenize(strip_markers(sentence)))
    scored = [(len(terms & set(tokenize(passage[s:e]))), -s, s, e) for s, e in sentences(passage)]
    best = max(scored, default=None)
    if not best or best[0] == 0:
        return 0, len(passage)
    start, end = best[2], best[3]
    while start < end and passage[start].isspace():
        start += 1
    return start, end


def _with_markers(sentence: str, numbers: list[int]) -> str:
    """Puts `numbers` as [n] markers at the end of the sentence, before its closing punctuation."""
    body = strip_markers(sentence)
    tail = body[len(body.rstrip()) :]
    body = body.rstrip()
    punct = ""
    while body and body[-1] in _END_PUNCT:
        punct, body = body[-1] + punct, body[:-1]
    if numbers:
        space = " " if body[-1:].isascii() and body[-1:].strip() else ""  # "faster [1]." but "模型[1]。"
        body += space + "".join(f"[{n}]" for n in numbers)
    return body + punct + tail


def check(
    answer: str,
    passages: Sequence[str],
    threshold: float,
    similarity: Similarity | None = None,
    min_similarity: float = 1.0,
    question: str = "",
) -> Checked:
    """Checks every claim sentence of `answer` against the passages it may cite, numbered from 1.

    A passage supports a sentence when it holds every number of the sentence and every name the question
    does not hold, and either a `threshold` share of its terms or, through `similarity` (e.g. the
    embedder's cosine, which works across languages), at least `min_similarity` (not for a Chinese sentence
    about a passage with Chinese text: they must share terms). A marker stays when its
    passage supports the sentence. An out-of-range or unsupported marker is re-pointed to the passage that
    supports the sentence best, or dropped when none does; a sentence with no marker gets one the same way.
    Sentences no passage supports are reported. The terms a sentence shares with `question` do not count as
    support when it has others.
    """
    known = frozenset(tokenize(question))
    chinese = [bool(CJK.search(p)) for p in passages]  # the OCR'd weekly has none
    out: list[str] = []
    cited: dict[int, list[str]] = {}
    unsupported: list[str] = []
    claims = repaired = 0
    last = 0
    for start, end in sentences(answer):
        out.append(answer[last:start])
        last = end
        sentence = answer[start:end]
        if not tokenize(_LIST_NUMBER.sub("", strip_markers(sentence))):  # punctuation, a marker, a "2." bullet
            out.append(strip_markers(sentence))
            continue
        claims += 1
        given = markers(sentence)
        lexical = [support(sentence, p, known) for p in passages]
        semantic = similarity(strip_markers(sentence), list(passages)) if similarity else [0.0] * len(passages)
        # e5-small puts almost any two Chinese texts near the threshold (docs/decisions/0011): a Chinese
        # sentence must share terms with a passage holding Chinese text.
        in_chinese = language(sentence) == "zh"
        votes = [not (zh and in_chinese) for zh in chinese]
        ok = [
            lex >= threshold or (vote and sim >= min_similarity and details_match(sentence, p, known))
            for lex, sim, vote, p in zip(lexical, semantic, votes, passages, strict=True)
        ]
        keep = sorted({n for n in given if 1 <= n <= len(passages) and ok[n - 1]})
        if not keep:
            best = max(range(len(passages)), key=lambda i: (ok[i], lexical[i] + semantic[i]), default=None)
            if best is not None and ok[best]:
                keep = [best + 1]
            else:
                unsupported.append(strip_markers(sentence).strip())
        if keep != given:
            repaired += 1
        for n in keep:
            cited.setdefault(n, []).append(sentence)
        out.append(_with_markers(sentence, keep))
    out.append(answer[last:])
    spans = tuple((n, *best_span(passages[n - 1], " ".join(claimed))) for n, claimed in sorted(cited.items()))
    return Checked("".join(out).strip(), spans, claims, tuple(unsupported), repaired)
