"""Paper cards: what a daily report says about each paper, read from its structure, and the questions about a
report as a whole ("这期日报一共介绍了多少篇论文？", "summarize today's report") answered from them.

A card is built from the chunks of one paper section (`Chunk.section`, the `## 📄` title): its link, date, field
(应用领域) and one-line contribution (一句话核心贡献). No model is involved, so a count is exact. Questions
about a topic inside a report ("how many robotics papers") are not answered here: they go to retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.keyword import tokenize
from rag.types import Chunk

FIELD, CONTRIBUTION = "应用领域", "一句话核心贡献"
# The value of a labelled line: "1. **应用领域**：NLP、..." or "### 2. 一句话核心贡献\n提出了..."
_VALUE = r"{label}[*\s]*[:：]?[*\s]*([^\n]+)"

# What a question about a whole report asks for: how many papers, or what they are about.
_COUNT = re.compile(
    r"多少篇|几篇|篇数|多少个?论文|how many (?:papers|articles|works|studies)|(?:number|count) of (?:the )?papers|"
    r"paper count|count (?:the|all) papers",
    re.I,
)
_SUMMARY = re.compile(
    r"总结|概括|概述|概览|综述|主要内容|主要讲|讲了|讲的|讲什么|讲些|说了什么|有什么|有哪些内容|看点|亮点|速览|"
    r"summar|overview|recap|rundown|gist|nutshell|tl;?dr|highlights?|what'?s in|what is in|"
    r"what(?:'s| is| was)? covered|what did .{0,40} cover|what does .{0,40} cover|walk me through|brief me",
    re.I,
)
# Words that name a report, its issue or its date, or ask the question itself: none of them is a topic.
_REPORT_ZH = (
    "这期 本期 今天 今日 最新 最近 一期 那份 这份 日报 报告 论文 篇 文章 工作 一共 总共 共 收录 介绍 包含 包括 涉及 "
    "多少 几 总结 概括 概述 主要 内容 讲了 讲 了 啥 什么 哪些 看点 有 吗 呢 啊 吧 一下 帮 我 请 简单 说说 下 都 "
    "里 的 年 月 日 号"
).split()
_REPORT_ZH.sort(key=len, reverse=True)  # removed longest first: "讲了" before "讲"
_REPORT_EN = set(
    "hf hugging face huggingface daily papers paper report digest issue today latest newest this the in of a an "
    "how many number summarize summarise summary overview what's what is are were tl dr tldr highlights give me "
    "please covered cover contain made it into list nutshell s".split()
)
# Cards come from daily reports: a question about the weekly goes to retrieval.
_WEEKLY = re.compile(r"周报|weekly", re.I)
_MONTH = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_DATE_ISO = re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)\b")
_DATE_ZH = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_DATE_EN = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})\b", re.I)


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
        text = "\n".join(c.text for c in parts)
        first = parts[0]
        contribution = label_value(text, CONTRIBUTION)
        cited = next((c for c in parts if contribution and contribution in c.text), first)
        cards.append(Card(title, doc_id, first.date, first.link, label_value(text, FIELD), contribution, cited))
    return sorted(cards, key=lambda c: (c.doc_id, c.chunk.start))


def topic_terms(cards: Sequence[Card]) -> set[str]:
    """The keyword terms of the papers' titles and fields: what a question restricted to a topic would name."""
    return {t for c in cards for t in tokenize(f"{c.title} {c.field}")} - _REPORT_EN


def route(question: str, topics: set[str]) -> str:
    """ "count" or "summary" for a question about a daily report as a whole, else "" (ordinary retrieval).

    Args:
        topics: `topic_terms` of the cards: a question naming one of them is about a topic or a paper.
    """
    kind = "count" if _COUNT.search(question) else "summary" if _SUMMARY.search(question) else ""
    if not kind or _WEEKLY.search(question):
        return ""
    text = _DATE_ZH.sub(" ", _DATE_EN.sub(" ", _DATE_ISO.sub(" ", question.lower())))
    for word in _REPORT_ZH:
        text = text.replace(word, " ")
    return "" if any(t in topics for t in tokenize(text)) else kind


def asked_date(question: str, year: str) -> str:
    """The date a question names ("2026-02-10", "2月10日", "Feb 10"), as YYYY-MM-DD, or ""."""
    if match := _DATE_ISO.search(question):
        return match.group(0)
    if match := _DATE_ZH.search(question):
        return f"{year}-{int(match.group(1)):02d}-{int(match.group(2)):02d}"
    if match := _DATE_EN.search(question):
        return f"{year}-{_MONTH[match.group(1).lower()[:3]]:02d}-{int(match.group(2)):02d}"
    return ""


def report(cards: list[Card], question: str) -> list[Card]:
    """The cards of the daily report a question means: the one of the date it names, else the newest."""
    dates = sorted({c.date for c in cards if c.date})
    if not dates:
        return []
    wanted = asked_date(question, dates[-1][:4]) or dates[-1]
    return [c for c in cards if c.date == wanted]


def reply(cards: list[Card], kind: str, lang: str) -> str:
    """The text of a "count" or "summary" answer about one report's cards: a lead, then one line per paper
    citing it as [n], n its place in `cards`."""
    date = cards[0].date
    if kind == "count":
        lead = (
            f"{date} 的日报共介绍了 {len(cards)} 篇论文："
            if lang == "zh"
            else f"The daily report of {date} covers {len(cards)} papers:"
        )
    else:
        lead = (
            f"{date} 的日报介绍了 {len(cards)} 篇论文，每篇的核心贡献："
            if lang == "zh"
            else (f"The daily report of {date} covers {len(cards)} papers; what each contributes:")
        )
    lines = [lead]
    for n, card in enumerate(cards, 1):
        said = f": {card.contribution}" if kind == "summary" and card.contribution else ""
        lines.append(f"- {card.title}{said} [{n}]")
    return "\n".join(lines)
