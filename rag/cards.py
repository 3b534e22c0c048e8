"""Paper cards: what a daily report says about each paper, read from its structure, and the questions about a
report as a whole ("这期日报一共介绍了多少篇论文？", "summarize today's report") answered from them.

A card is built from the chunks of one paper section (`Chunk.section`, the `## 📄` title): its link, date, field
(应用领域), one-line contribution (一句话核心贡献) and what it says of its code and weights. No model reads
them, so a count is exact. `find` reads what a question asks (how many, which, what about; of which dates and
topic), `reply` answers it with one cited line per paper. Choosing a topic's papers (`Topics`) is the weak part:
docs/decisions/0010.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cached_property

import numpy as np

from rag.keyword import KeywordIndex, tokenize
from rag.prompts import LIST
from rag.types import Chunk

logger = logging.getLogger(__name__)

FIELD, CONTRIBUTION = "应用领域", "一句话核心贡献"
PAPER_HEADING = "## 📄"  # opens a paper of a daily report (rag/load.py splits there)
_ITEM_SEP = re.compile(r"[、,，;；/()（）]|\s-\s|-(?=[\u3400-\u9fff])|(?<=[\u3400-\u9fff])-")
# The value of a labelled line: "1. **应用领域**：NLP、..." or "### 2. 一句话核心贡献\n提出了..."
_VALUE = r"{label}[*\s]*[:：]?[*\s]*([^\n]+)"

# A line about code and weights, and what it says of them (rag/cards.py, `release`).
_RELEASE_LINE = re.compile(r"开源|代码|权重[已将]|github|releas|open[- ]?sourc", re.I)
_UNSAID = re.compile(r"未提及|未明确|未说明|没有提及|是否|not (?:mention|say|state)", re.I)
_RELEASED = re.compile(
    r"github\.com/|已经?(?:在|被)?(?:\s*github\s*)?(?:开源|发布|公开|放出)|开源了|代码已|权重已|提供开源|"
    r"we release|released|releasing|open-sourced",
    re.I,
)
_PROMISED = re.compile(
    r"承诺|计划|即将|将会?(?:在|通过)?.{0,12}?(?:开源|发布|公开|放出)|后续|旨在|尚未|coming soon|will (?:be )?releas|"
    r"plan(?:s|ned)? to|upon acceptance|录用后",
    re.I,
)
# A question about code and weights: which papers released them (or only promise them).
_ASKS_RELEASE = re.compile(
    r"开源|放出来|(?:代码|权重)(?!生成)|github|open[- ]?sourc|releas|code available|weights", re.I
)
_ASKS_PROMISE = re.compile(r"承诺|计划|打算|将来|以后|后续|promise|later|plan", re.I)
_RELEASE_WORDS = re.compile(
    r"开源|放出来|放出|已经|代码或模型|代码和模型|模型权重|代码(?!生成)|权重|github|明确|承诺|计划|打算|将来|以后|后续|"
    r"\b(?:link|open[- ]?sourced?|releas\w*|code|weights|available|anything|promise[sd]?|later|rather|than|"
    r"having|them|already|only|models?)\b",
    re.I,
)

# What a question about a whole report asks for: how many papers, or what they are about.
_COUNT = re.compile(
    r"多少篇|几篇|篇数|多少个?论文|how many (?:[\w'’-]+ ){0,3}?(?:papers|articles|works|studies)|"
    r"(?:number|count) of (?:the )?(?:[\w'’-]+ ){0,3}?papers|paper count|count (?:the |all )?(?:[\w'’-]+ ){0,3}?papers",
    re.I,
)
# A list of every paper: "哪些论文..." (the list mode of retrieval, rag/prompts.py) or all of a report's titles.
_LIST = re.compile(
    r"列出|列一下|列举|标题都|哪些|都有哪|哪几篇|是哪篇|有没有.{0,24}(?:论文|文章|工作|研究)|(?:论文|文章|工作|研究)吗|"
    r"titles|\blist\b|\bname (?:all|every|the) |\bwhich ones\b|\b(?:which|any) (?:[\w'’-]+ ){0,3}?papers\b",
    re.I,
)
_SUMMARY = re.compile(
    r"总结|概括|概述|概览|综述|主要内容|主要讲|讲了|讲的|讲什么|讲些|说了什么|有什么|有哪些内容|看点|亮点|速览|"
    r"summar|overview|recap|rundown|gist|nutshell|tl;?dr|highlights?|themes?|trends?|主题|趋势|what'?s in|what is in|"
    r"what(?:'s| is| was)? covered|what did .{0,40} cover|what does .{0,40} cover|walk me through|brief me",
    re.I,
)
# Words that name a report, its issue or its date, or ask the question itself: what is left is the topic.
_REPORT_ZH = (
    "这期 本期 今天 今日 最新 最近 一期 那份 这份 日报 报告 论文 篇 文章 工作 一共 总共 共 收录 介绍 包含 包括 涉及 "
    "多少 几 总结 概括 概述 主要 内容 讲了 讲 了 啥 什么 哪些 看点 有 吗 呢 啊 吧 一下 帮 我 请 简单 说说 下 都 "
    "里 的 年 月 日 号 哪几 哪篇 哪 有没有 列出来 列出 列一下 列举 列 给 相关 方向 方面 领域 研究 做 跟 有关 沾边 "
    "关于 是 这块 整体 在 大概 进展 捋一捋 这些 这类 说 份 期间 之间 到 周 上个 上 本 这 最近 过去 近 天 以来 "
    "之后 以后 开始 至今 值得关注 标题 情况 各 那 加起来 合计 一起 有的话"
).split()
_REPORT_ZH.sort(key=len, reverse=True)  # removed longest first: "讲了" before "讲"
_REPORT_EN = set(
    "hf hugging face huggingface daily papers paper report reports digest digests issue issues today today's "
    "latest newest this that these those the in on of for to and or with about from into by is are was were do "
    "does did doing a an how many number summarize summarise summary overview what's what which who is are were "
    "tl dr tldr highlights give me show tell please covered cover contain made it into list nutshell s any some "
    "all ones one works work count can you could would i them their there they its make new involve involving "
    "deal deals dealing way introduce introducing related relating around recap week weeks month months last "
    "past since between days day from through until titles title we our us get got so far provide brief briefly "
    "main themes theme trends trend published appeared featured included came out were been have has had".split()
)
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_MONTH = {m: i for i, m in enumerate(_MONTHS.split("|"), 1)}
_ASKED_DATE = re.compile(
    rf"\b20\d\d-\d\d-\d\d\b|\d{{1,2}}\s*月(?:\s*\d{{1,2}}\s*[日号]|份)?|\b(?:{_MONTHS})[a-z]*\.?(?:\s+\d{{1,2}}\b)?|\d+",
    re.I,
)
# Cards come from daily reports: a question about the weekly goes to retrieval.
_WEEKLY = re.compile(r"周报|weekly", re.I)
_SUFFIXES = ("izations", "ization", "ations", "ation", "izing", "ising", "izes", "ized", "ize", "ing", "ed", "es", "s")
_DAY = re.compile(r"20\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])")
_DATE_ISO = re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)\b")
_DATE_ZH = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_DATE_EN = re.compile(rf"\b({_MONTHS})[a-z]*\.?\s+(\d{{1,2}})\b", re.I)


@dataclass(frozen=True)
class Card:
    """One paper of a daily report. `chunk` is the passage that holds its contribution (else its first)."""

    title: str
    doc_id: str
    date: str
    link: str
    field: str
    contribution: str
    chunk: Chunk
    release: str = "none"  # what the section says of code and weights: "released", "promised" or "none"
    release_line: str = ""  # the line that says it, in `release_chunk`
    release_chunk: Chunk | None = None

    @property
    def area(self) -> str:
        """The field's first item ("机器人" of "机器人 - 人形机器人控制"): a summary and the page group by it."""
        items = field_items(self.field)
        return items[0] if items else ""

    def cited(self, release: bool = False) -> tuple[Chunk, int, int]:
        """The passage a citation of the card points to and the span it marks: the line on code and weights
        when `release` and there is one, else `highlight`."""
        if release and self.release_chunk is not None:
            start = self.release_chunk.text.find(self.release_line)
            return self.release_chunk, start, start + len(self.release_line)
        return self.chunk, *self.highlight

    @property
    def highlight(self) -> tuple[int, int]:
        """The span of `chunk.text` a citation of the card marks: the contribution, else the first line."""
        start = self.chunk.text.find(self.contribution) if self.contribution else -1
        if start < 0:
            return 0, len(self.chunk.text.split("\n", 1)[0])
        return start, start + len(self.contribution)


def label_value(text: str, label: str) -> str:
    """The text after a labelled line ("应用领域：..."), Markdown emphasis removed, or ""."""
    match = re.search(_VALUE.format(label=label), text)
    return match.group(1).replace("*", "").strip() if match else ""


def build(chunks: Sequence[Chunk]) -> list[Card]:
    """A card per paper section, in document order; documents without paper sections give none."""
    sections: dict[tuple[str, str], list[Chunk]] = {}
    for chunk in chunks:
        if chunk.in_paper:
            sections.setdefault((chunk.doc_id, chunk.section), []).append(chunk)
    cards = []
    for (doc_id, title), parts in sections.items():
        parts = sorted(parts, key=lambda c: c.start)
        first = parts[0]
        if not first.text.lstrip().startswith(PAPER_HEADING):  # a section of another digest (a weekly's topic)
            continue
        text = "\n".join(c.text for c in parts)
        contribution = label_value(text, CONTRIBUTION)
        cited = next((c for c in parts if contribution and contribution in c.text), first)
        field = label_value(text, FIELD)
        cards.append(Card(title, doc_id, first.date, first.link, field, contribution, cited, *release(parts)))
    return sorted(_in_format(cards), key=lambda c: (c.doc_id, c.chunk.start))


def _in_format(cards: list[Card]) -> list[Card]:
    """The cards of documents a daily report's structure can be read from: dated, and with a field or a
    contribution in some paper. Another document is only searched as text, and a one-line warning says so."""
    documents: dict[str, list[Card]] = {}
    for card in cards:
        documents.setdefault(card.doc_id, []).append(card)
    kept = []
    for doc_id, papers in documents.items():
        if not _DAY.fullmatch(papers[0].date):
            logger.warning("%s: paper sections but no day's date; searched as text, not counted in reports", doc_id)
        elif not any(c.field or c.contribution for c in papers):
            logger.warning(
                "%s: paper sections without %s or %s; searched as text, not counted in reports",
                doc_id,
                FIELD,
                CONTRIBUTION,
            )
        else:
            kept += papers
    return kept


def release(parts: Sequence[Chunk]) -> tuple[str, str, Chunk | None]:
    """What a paper's section says of its code and weights: ("released" | "promised" | "none", the line that
    says it, its chunk). A line saying something is out wins over one promising it; a line saying the paper
    does not tell is no statement."""
    found: tuple[str, str, Chunk | None] = ("none", "", None)
    for chunk in parts:
        for line in chunk.text.split("\n"):
            if not _RELEASE_LINE.search(line) or _UNSAID.search(line):
                continue
            if _RELEASED.search(line):
                return "released", line.strip(), chunk
            if _PROMISED.search(line) and found[0] == "none":
                found = ("promised", line.strip(), chunk)
    return found


@dataclass(frozen=True)
class Asked:
    """A question about the daily reports as a whole: `kind` "count", "list" or "summary" of their papers, and
    `topic` the words left once the report's, the date's and the asking words are taken out ("" for all)."""

    kind: str
    topic: str
    release: str = ""  # "released" or "promised": only the papers whose section says so


def paper_names(cards: Sequence[Card]) -> set[str]:
    """The short names of the papers ("mova" of "MOVA: Towards ..."), lowercased: a question naming one is about
    that paper, not about a report."""
    return {c.title.split(":")[0].strip().lower() for c in cards if ":" in c.title}


def asked(question: str, names: set[str]) -> Asked | None:
    """What a question asks of the daily reports as a whole, or None for any other question (retrieval).

    Args:
        names: `paper_names` of the cards.
    """
    kind = (
        "count"
        if _COUNT.search(question)
        else "summary"
        if _SUMMARY.search(question)
        else "list"
        if LIST.search(question) or _LIST.search(question)
        else ""
    )
    lowered = question.lower()
    if not kind or _WEEKLY.search(question) or any(name in lowered for name in names):
        return None
    if not _ASKS_RELEASE.search(question):
        return Asked(kind, topic(question))
    said = "promised" if _ASKS_PROMISE.search(question) else "released"
    return Asked(kind, topic(_RELEASE_WORDS.sub(" ", question)), said)


def topic(question: str) -> str:
    """The words of a question left once its dates and the words of the report and of asking are taken out."""
    text = _ASKED_DATE.sub(" ", question.lower())
    for word in _REPORT_ZH:
        text = text.replace(word, " ")
    words = re.findall(r"[a-z][a-z0-9+.-]*[a-z0-9+]|[a-z]|[\u3400-\u9fff]+", text)
    # A Chinese character left alone ("把", "些") is a function word, too little to be a topic.
    return " ".join(w for w in words if w not in _REPORT_EN and not (len(w) == 1 and w >= "\u3400"))


class Topics:
    """Finds the papers of a topic among the cards.

    A paper is of the topic when its title, field and contribution share the topic's words or their English
    stems (its BM25 score is at least `CUT` of the best paper's), or when its field lists the item of all fields
    nearest to the topic by the embedder, if that is `NEAR` (a topic asked in the other language: "robotics" and
    "机器人"), or when its area (`Card.area`) is the one clearly nearest to the topic.
    """

    CUT = 0.5
    NEAR = 0.9
    AREA_NEAR, AREA_MARGIN = 0.85, 0.03

    def __init__(self, cards: Sequence[Card], embed: Callable[[list[str]], np.ndarray]):
        self.cards = list(cards)
        self.keyword = KeywordIndex.build([f"{c.title}\n{c.field}\n{c.contribution}" for c in self.cards])
        self._embed = embed
        # A question's topic is compared with the field items and with the areas: embedded once.
        self._vector = functools.lru_cache(maxsize=64)(lambda topic: embed([topic])[0])
        self._row = {id(card): row for row, card in enumerate(self.cards)}
        self._stems: dict[str, list[str]] = {}
        for term in self.keyword.vocab:
            self._stems.setdefault(_stem(term), []).append(term)

    def terms(self, topic: str) -> list[str]:
        """The topic's keyword terms, with the cards' words of the same English stem ("quantizing":
        "quantization", "quantized")."""
        terms = dict.fromkeys(tokenize(topic))
        return list(terms | dict.fromkeys(w for t in terms for w in self._stems.get(_stem(t), [])))

    @cached_property
    def _items(self) -> tuple[list[str], np.ndarray]:
        """The items of all fields ("人形机器人控制", "Video Generation"), and their embeddings."""
        return self._embedded({item for card in self.cards for item in field_items(card.field)})

    @cached_property
    def _areas(self) -> tuple[list[str], np.ndarray]:
        """The fields' first items ("机器人", "视频生成"), by which a summary groups papers, and their embeddings."""
        return self._embedded({card.area for card in self.cards if card.area})

    def _embedded(self, names: set[str]) -> tuple[list[str], np.ndarray]:
        ordered = sorted(names)
        return ordered, self._embed(ordered) if ordered else np.zeros((0, 0))

    def of(self, asked: Asked) -> Asked:
        """`asked` without its topic when no paper shares a word with it and no field item is near: the words
        left were ways of asking ("we get", "so far"), not a topic."""
        if not asked.topic or any(t in self.keyword.vocab for t in self.terms(asked.topic)):
            return asked
        return asked if self._nearest_item(asked.topic) else replace(asked, topic="")

    def match(self, topic: str, cards: Sequence[Card]) -> list[Card]:
        """The `cards` (some of those the index was built from) that are of the topic, in their order."""
        rows = [self._row[id(card)] for card in cards]
        scores = self.keyword.scores(self.terms(topic))[rows]
        near, area = self._nearest_item(topic), self._nearest_area(topic)
        return [
            card
            for card, score in zip(cards, scores, strict=True)
            if (score > 0 and score >= self.CUT * scores.max()) or near in field_items(card.field) or card.area == area
        ]

    def _nearest_area(self, topic: str) -> str | None:
        """The area clearly nearest to the topic by the embedder: at least `AREA_NEAR`, and `AREA_MARGIN` nearer
        than the next one (fine-grained areas, "机器人学" and "机器人控制", are then none)."""
        areas, vectors = self._areas
        if len(areas) < 2:
            return None
        similarity = vectors @ self._vector(topic)
        second, best = np.argsort(similarity)[-2:]
        near = similarity[best] >= self.AREA_NEAR and similarity[best] - similarity[second] >= self.AREA_MARGIN
        return areas[best] if near else None

    def _nearest_item(self, topic: str) -> str | None:
        """The field item nearest to the topic by the embedder, if it is `NEAR`."""
        items, vectors = self._items
        if not items:
            return None
        similarity = vectors @ self._vector(topic)
        best = int(np.argmax(similarity))
        return items[best] if similarity[best] >= self.NEAR else None


def select(scope: list[Card], asked: Asked, topics: Topics) -> list[Card]:
    """The cards of `scope` that `asked` is about: of its release, then of its topic."""
    chosen = [c for c in scope if c.release == asked.release] if asked.release else scope
    return topics.match(asked.topic, chosen) if asked.topic and chosen else chosen


def _stem(term: str) -> str:
    """An English word without its inflection or derivation suffix ("quantizing", "quantization": "quantiz");
    other terms as they are."""
    if term.isascii() and term.isalpha():
        for suffix in _SUFFIXES:
            if term.endswith(suffix) and len(term) - len(suffix) >= 4:
                return term[: -len(suffix)]
    return term


def field_items(field: str) -> list[str]:
    """The items a field line lists: "NLP-大模型智能体 (LLM Agents)、信息检索" -> NLP, 大模型智能体, LLM Agents,
    信息检索."""
    items = (item.strip(" *.。") for item in _ITEM_SEP.split(field))
    return [item for item in items if len(item) > 1]


_CN_NUM = {c: i for i, c in enumerate("零一二三四五六七八九十", 0)} | {"两": 2}
_N = r"(\d{1,3}|[一二两三四五六七八九十]{1,3})"
_SINCE = re.compile(r"since|onwards?|after|starting|以来|之后|以后|开始|至今|(?<!一)起(?!来)", re.I)
_RELATIVE = (  # (pattern, what it means relative to the newest report's date)
    (re.compile(r"this week|本周|这周|这一周|这个星期|这星期|本星期", re.I), "week", 0),
    (re.compile(r"last week|previous week|上周|上一周|上个?星期", re.I), "week", -1),
    (re.compile(r"this month|本月|这个月|这月", re.I), "month", 0),
    (re.compile(r"last month|previous month|上个?月", re.I), "month", -1),
    (re.compile(rf"(?:past|last|recent)\s+{_N}\s+days|(?:最近|过去|近){_N}\s*天", re.I), "days", None),
    (re.compile(r"(?:past|last) (?:seven days|week)|(?:最近|过去|近)一周|(?:最近|过去|近)一个?星期", re.I), "days", 7),
)
_MONTH_ALONE = re.compile(
    rf"(?<![\d-])(\d{{1,2}})\s*月份?(?!\s*\d)|\b(?:in|during|for|of)\s+({_MONTHS})[a-z]*\.?(?!\s*\d)\b", re.I
)


def _number(text: str) -> int:
    """ "7" or "七" / "十四" as an int."""
    if text.isdigit():
        return int(text)
    tens, _, ones = text.rpartition("十")
    return (_CN_NUM.get(tens, 1) * 10 if "十" in text else 0) + _CN_NUM.get(ones, 0)


def _days(question: str, year: str) -> list[tuple[int, str]]:
    """The days a question names, as (position, YYYY-MM-DD), in the order written."""
    found = [(m.start(), m.group(0)) for m in _DATE_ISO.finditer(question)]
    found += [(m.start(), f"{year}-{int(m.group(1)):02d}-{int(m.group(2)):02d}") for m in _DATE_ZH.finditer(question)]
    for m in _DATE_EN.finditer(question):
        found.append((m.start(), f"{year}-{_MONTH[m.group(1).lower()[:3]]:02d}-{int(m.group(2)):02d}"))
    return sorted(found)


def asked_range(question: str, newest: str) -> tuple[str, str]:
    """The dates a question is about, as (first, last) YYYY-MM-DD, both included; (newest, newest) when it
    names none ("这期", "latest", or no date at all).

    Relative dates ("this week", "上个月", "past 7 days") count from `newest`, the newest report's date: a
    collection that stopped a while ago still answers "this week" with its last week. A named month or day
    takes the year of `newest`."""
    today = date.fromisoformat(newest)
    days = [d for _, d in _days(question, newest[:4])]
    if len(days) >= 2:
        return min(days[:2]), max(days[:2])
    if days:
        return (days[0], newest) if _SINCE.search(question) and days[0] < newest else (days[0], days[0])
    for pattern, unit, amount in _RELATIVE:
        if match := pattern.search(question):
            if unit == "days":
                n = amount or _number(next(g for g in match.groups() if g))
                return (today - timedelta(days=n - 1)).isoformat(), newest
            if unit == "week":
                monday = today - timedelta(days=today.weekday()) + timedelta(weeks=amount or 0)
                return monday.isoformat(), (monday + timedelta(days=6)).isoformat()
            first = (today.replace(day=1) - timedelta(days=1)).replace(day=1) if amount else today.replace(day=1)
            return _month(first.year, first.month)
    if match := _MONTH_ALONE.search(question):
        month = int(match.group(1)) if match.group(1) else _MONTH[match.group(2).lower()[:3]]
        if 1 <= month <= 12:
            return _month(today.year, month)
    return newest, newest


def _month(year: int, month: int) -> tuple[str, str]:
    first = date(year, month, 1)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    return first.isoformat(), last.isoformat()


def scope(cards: list[Card], question: str, digest: str = "") -> tuple[list[Card], tuple[str, str]]:
    """The cards of the daily reports a question means, and its dates (first, last): those it names, else the
    newest report's; or, given a `digest` (a document's id), that report's, whatever dates the question names."""
    if digest:
        chosen = [c for c in cards if c.doc_id == digest]
        return chosen, (chosen[0].date, chosen[0].date) if chosen else ("", "")
    dates = sorted({c.date for c in cards if c.date})
    if not dates:
        return [], ("", "")
    first, last = asked_range(question, dates[-1])
    return [c for c in cards if first <= c.date <= last], (first, last)


@dataclass(frozen=True)
class Found:
    """What a question about the daily reports asks (`asked`, its topic dropped when it was none), the reports
    it means (`scope`, of `dates`), and the papers of those that it is about (`papers`)."""

    asked: Asked
    scope: list[Card]
    dates: tuple[str, str]
    papers: list[Card]


def find(question: str, cards: list[Card], topics: Topics, names: set[str], digest: str = "") -> Found | None:
    """The papers a question about the daily reports as a whole is about, or None for any other question, and
    for a `digest` that is no daily report (its text answers).

    Args:
        topics: `Topics` of the cards; names: their `paper_names`.
    """
    wanted = asked(question, names) if cards else None
    if wanted is None:
        return None
    wanted = topics.of(wanted)
    chosen, dates = scope(cards, question, digest)
    if digest and not chosen:
        return None
    return Found(wanted, chosen, dates, select(chosen, wanted, topics))


_RELEASE_SAID = {
    "released": ("已开源代码或模型", " that released code or weights"),
    "promised": ("只承诺以后开源", " that only promise code or weights later"),
}


def reply(cards: list[Card], asked: Asked, dates: tuple[str, str], total: int, lang: str) -> tuple[str, list[Card]]:
    """The answer to `asked` over the cards it selects (of its topic and release, all without them) from the
    reports of `dates` (first, last), which hold `total` papers: a lead, then one line per paper citing it as [n].

    Returns:
        The text, and the cards in the order of their [n]: a summary groups them by field.
    """
    first, last = dates
    zh = lang == "zh"
    when = first if first == last else (f"{first} 至 {last}" if zh else f"{first} to {last}")
    reports = "daily report of" if first == last else "daily reports of"
    if not total:
        return (f"索引中没有 {when} 的日报。" if zh else f"The index holds no daily report of {when}.", [])
    said_zh, said_en = _RELEASE_SAID.get(asked.release, ("", ""))
    if zh:
        which = "且".join(x for x in (f"与“{asked.topic}”相关" if asked.topic else "", said_zh) if x)
    else:
        which = (f" on “{asked.topic}”" if asked.topic else "") + said_en
    if not cards:
        if zh:
            criterion = "（按标题、领域和核心贡献）" if asked.topic else ""
            return f"{when} 的日报共 {total} 篇论文，其中没有{which}的论文{criterion}。", []
        criterion = " (by title, field and contribution)" if asked.topic else ""
        return f"None of the {total} papers in the {reports} {when} is one{which}{criterion}.", []
    n = len(cards)
    if zh:
        lead = f"{when} 的日报中{which}的论文有 {n} 篇" if which else f"{when} 的日报共介绍了 {n} 篇论文"
    else:
        lead = f"The {reports} {when} {'covers' if first == last else 'cover'} {n} paper{'' if n == 1 else 's'}{which}"
    if asked.kind != "summary":
        return "\n".join([lead + ("：" if zh else ":")] + [f"- {c.title} [{n}]" for n, c in enumerate(cards, 1)]), cards
    groups: dict[str, list[Card]] = {}
    for card in cards:
        groups.setdefault(card.area or ("其他" if zh else "Other"), []).append(card)
    lines, ordered = [lead + ("，按领域：" if zh else ", by field:")], []
    for area, members in sorted(groups.items(), key=lambda g: -len(g[1])):
        lines.append(f"{area}（{len(members)}）：" if zh else f"{area} ({len(members)}):")
        for card in members:
            ordered.append(card)
            said = f": {card.contribution}" if card.contribution else ""
            lines.append(f"- {card.title}{said} [{len(ordered)}]")
    return "\n".join(lines), ordered
