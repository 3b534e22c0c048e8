"""HTML for the chat page: answers with linked [n] markers, the sources panel, the index status and the digests.

Digest text and model output are untrusted: every piece of them is HTML-escaped here, before it reaches the page.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from html import escape
from typing import Any

from rag.cards import Card
from rag.types import Answer, Citation, Hit
from ui.uploads import is_upload

# The markers rag.cite writes: "[1]", "[1][2]"; also "[1, 2]" and full-width brackets, as models write them.
_MARKER = re.compile(r"[\[【]\s*(\d{1,2}(?:\s*[,，、;]\s*\d{1,2})*)\s*[\]】]")

_WORDS = {
    "en": {
        "query": "Searched for",
        "cited": "Cited passages",
        "declined": "The digests don't say. Closest passages:",
        "unsupported": "Not backed by any passage:",
        "uncited": "Other passages the model read",
        "score": "score",
        "open": "open",
        "checks": "Checks that fired",
        "uploaded": "uploaded to this page, not from the digests",
        "flagged": "holds instructions addressed to AI assistants: shown as data, the model did not read them",
    },
    "zh": {
        "query": "检索问题",
        "cited": "引用的段落",
        "declined": "日报和周报中没有找到答案。最接近的段落：",
        "unsupported": "没有段落支持的句子：",
        "uncited": "模型读过的其他段落",
        "score": "得分",
        "open": "原文",
        "checks": "触发的检查",
        "uploaded": "网页上传的文件，不是日报原文",
        "flagged": "含有写给 AI 助手的指令：仅作为资料显示，模型没有读取",
    },
}


MAX_PANEL_TURNS = 10


def anchor(turn: int, n: int) -> str:
    """The id of passage [n] of answer number `turn` in the sources panel."""
    return f"src-{turn}-{n}"


def streaming_html(text: str) -> str:
    """The answer while it is being generated: plain escaped text and a cursor."""
    return escape(text) + " ▍"


def answer_html(answer: Answer, turn: int) -> str:
    """The checked answer for the chat: escaped text whose [n] markers link to the sources panel.

    Hovering a marker shows the supporting words; a marker naming no citation stays plain text.
    """
    quotes: dict[int, str] = {}
    for c in answer.citations:
        quotes[c.n] = (quotes.get(c.n, "") + " … " + c.quote.strip()).strip(" …")
    if not answer.answerable:
        return f'<span class="rag-decline">{escape(answer.text)}</span>'

    def link(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        if not all(n in quotes for n in numbers):
            return escape(match.group(0))
        return "".join(
            f'<a class="rag-cite" href="#{anchor(turn, n)}" data-turn="{turn}" data-n="{n}" '
            f'title="{escape(_short(quotes[n], 300))}">[{n}]</a>'
            for n in numbers
        )

    out, last = [], 0
    for match in _MARKER.finditer(answer.text):
        out.append(escape(answer.text[last : match.start()]))
        out.append(link(match))
        last = match.end()
    out.append(escape(answer.text[last:]))
    return "".join(out)


def plain_text(answer: Answer) -> str:
    """The answer with its sources as plain text, for the copy button."""
    lines = [answer.text, ""]
    hits = {i: h for i, h in enumerate(answer.passages, 1)}
    for n in sorted({c.n for c in answer.citations}):
        chunk = hits[n].chunk if n in hits else next(c.chunk for c in answer.citations if c.n == n)
        lines.append(f"[{n}] " + " · ".join(p for p in (chunk.doc_id, chunk.date, chunk.section, chunk.link) if p))
    return "\n".join(lines).strip()


def citations_json(answer: Answer) -> list[dict]:
    """The answer's citations for API clients (the page's `ask`, the OpenAI-compatible endpoint): number,
    document, paper title, link and the words each one quotes."""
    return [
        {"n": c.n, "source": c.chunk.doc_id, "section": c.chunk.section, "link": c.chunk.link, "quote": c.quote}
        for c in answer.citations
    ]


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans sorted, merged where they overlap, empty ones dropped."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, spans: list[tuple[int, int]]) -> str:
    """Escapes `text` and wraps each (start, end) span in <mark>, overlapping spans merged."""
    out, last = [], 0
    for start, end in _merge(spans):
        start, end = max(start, last), min(end, len(text))
        if start >= end:
            continue
        out.append(escape(text[last:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        last = end
    out.append(escape(text[last:]))
    return "".join(out)


_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_BULLET = re.compile(r"^(\s*(?:</?mark>)?\s*)[*+-](\s+)", re.M)  # a highlight may start or end before the mark
_HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.M)


def markdown(html: str) -> str:
    """The Markdown a digest writes, shown as it reads, in HTML that is already escaped (`highlight`): **bold**,
    "#" headings in bold, "*" and "-" list marks as bullets. Nothing else is read: a tag the digest wrote stays
    escaped text, and a link stays text."""
    html = _HEADING.sub(r"<b>\1</b>", html)
    html = _BULLET.sub(r"\1•\2", html)
    return _BOLD.sub(r"<b>\1</b>", html)


def _safe_link(link: str) -> str:
    return link if link.startswith(("https://", "http://")) else ""


def external_link(link: str, label_html: str, cls: str = "") -> str:
    """An anchor opening `link` in a new tab, with nothing of this page handed to it; `label_html` is already
    escaped. A link that is not http(s) is no link: the label alone is returned."""
    if not _safe_link(link):
        return label_html
    attr = f' class="{cls}"' if cls else ""
    return f'<a{attr} href="{escape(link)}" target="_blank" rel="noopener noreferrer">{label_html}</a>'


def passage_html(
    hit: Hit,
    n: int | None,
    turn: int,
    lang: str,
    citations: list[Citation] | None = None,
    open_: bool = True,
    scored: bool = True,
) -> str:
    """One passage card: number, document, date, paper title, link, score (when `scored`: found by a search),
    then the text with its marks."""
    words = _WORDS.get(lang, _WORDS["en"])
    c = hit.chunk
    meta = [f"<b>[{n}]</b>" if n else "", f'<span class="rag-doc">{escape(c.doc_id)}</span>']
    if c.date:
        meta.append(f"<span>{escape(c.date)}</span>")
    if scored:
        meta.append(f'<span class="rag-score">{words["score"]} {hit.score:.3f}</span>')
    uploaded = is_upload(c.doc_id)
    if uploaded:
        meta.append(f'<span class="rag-uploaded">⚠ {words["uploaded"]}</span>')
    if c.flags:
        meta.append(f'<span class="rag-flagged">⚠ {words["flagged"]}</span>')
    title = c.section or c.title
    heading = f" — {escape(c.heading)}" if c.heading and c.heading != title else ""
    link = _safe_link(c.link)
    title_html = f"{escape(title)}{heading}"
    if link and uploaded:  # an uploaded document's link is whatever its writer put there: shown, not followed
        title_html += f' <span class="rag-link">{escape(link)}</span>'
    elif link:
        host = escape(urllib.parse.urlsplit(link).hostname or "")
        title_html += " " + external_link(link, f"{words['open']} ↗ {host}")
    body = markdown(highlight(c.text, [(x.start, x.end) for x in citations or []]))
    ident = f' id="{anchor(turn, n)}"' if n else ""
    return (
        f'<details class="rag-passage"{ident}{" open" if open_ else ""}>'
        f'<summary><span class="rag-meta">{" · ".join(m for m in meta if m)}</span>'
        f'<span class="rag-title">{title_html}</span></summary>'
        f'<div class="rag-text">{body}</div></details>'
    )


def checks_html(answer: Answer) -> str:
    """A closed fold naming the checks of the answer policy that fired, each with why it exists."""
    from rag.policy import CHECKS

    if not answer.checks:
        return ""
    words = _WORDS.get(answer.lang, _WORDS["en"])
    items = "".join(
        f"<li><code>{escape(name)}</code>: {escape(CHECKS[name].does)} ({escape(CHECKS[name].why)})</li>"
        for name in answer.checks
        if name in CHECKS
    )
    summary = f"<summary>{words['checks']} ({len(answer.checks)})</summary>"
    return f'<details class="rag-checks">{summary}<ul>{items}</ul></details>'


def sources_html(answer: Answer, turn: int) -> str:
    """The sources panel for one answer: the rewritten query, cited passages open, the others collapsed, and
    the checks that fired."""
    words = _WORDS.get(answer.lang, _WORDS["en"])
    parts = [f'<div class="rag-sources" data-turn="{turn}">']
    if answer.query and answer.query != answer.question:
        parts.append(f'<p class="rag-query">{words["query"]}: <q>{escape(answer.query)}</q></p>')
    if not answer.answerable:
        parts.append(f'<p class="rag-decline">{words["declined"]}</p>')
        parts.extend(passage_html(h, i, turn, answer.lang) for i, h in enumerate(answer.passages, 1))
        parts.append(checks_html(answer))
        parts.append("</div>")
        return "".join(parts)
    cited: dict[int, list[Citation]] = {}
    for c in answer.citations:
        cited.setdefault(c.n, []).append(c)
    hits = dict(enumerate(answer.passages, 1))
    parts.append(f"<h4>{words['cited']}</h4>")
    for n, citations in sorted(cited.items()):
        hit = hits.get(n) or Hit(n, 0.0, citations[0].chunk)  # cited without a search: a paper card
        parts.append(passage_html(hit, n, turn, answer.lang, citations, scored=n in hits))
    if answer.unsupported:
        items = "".join(f"<li>{escape(s)}</li>" for s in answer.unsupported)
        parts.append(f'<div class="rag-unsupported">{words["unsupported"]}<ul>{items}</ul></div>')
    others = [(n, h) for n, h in hits.items() if n not in cited]
    if others:
        inner = "".join(passage_html(h, n, turn, answer.lang, open_=False) for n, h in others)
        summary = f"<summary>{words['uncited']} ({len(others)})</summary>"
        parts.append(f'<details class="rag-uncited">{summary}{inner}</details>')
    parts.append(checks_html(answer))
    parts.append("</div>")
    return "".join(parts)


def panel(turns: list[dict]) -> str:
    """The sources panel: the latest answer's sources open, earlier answers' collapsed (links still reach them)."""
    if not turns:
        return '<p class="rag-query">Sources of each answer appear here. 每个回答的出处会显示在这里。</p>'
    latest = len(turns) - 1
    parts = [turns[latest]["sources"]]
    for i in range(latest - 1, max(-1, latest - MAX_PANEL_TURNS), -1):
        question = escape(turns[i]["question"][:80])
        parts.append(f'<details class="rag-turn"><summary>#{i + 1} {question}</summary>{turns[i]["sources"]}</details>')
    return "".join(parts)


def message_html(text: str) -> str:
    """A notice in the chat (an error a user caused, a rejected file): escaped, never a traceback."""
    return f'<span class="rag-error">⚠ {escape(text)}</span>'


def status_html(manifest: dict[str, Any], generator: str) -> str:
    """Which digests are indexed (name, date, chunks), the embedder, the generator and when it was built."""
    docs = manifest.get("documents", {})
    built = manifest.get("built_at")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(built)) if built else "?"
    rows = "".join(
        f"<tr><td>{escape(doc_id)}</td><td>{escape(str(d.get('date', '')))}</td><td>{int(d.get('chunks', 0))}</td></tr>"
        for doc_id, d in sorted(docs.items())
    )
    embedder = manifest.get("embedder", {})
    return (
        f'<div class="rag-status"><p>{len(docs)} digests, {int(manifest.get("chunks", 0))} passages · '
        f"embedder <code>{escape(str(embedder.get('id', '?')))}</code> ({int(embedder.get('dim', 0))} dims) · "
        f"generator <code>{escape(generator)}</code> · built {escape(when)}</p>"
        f"<table><thead><tr><th>digest</th><th>date</th><th>passages</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


OTHER_FIELD = "其他 / other"


def paper_question(card: Card) -> str:
    """The question the Ask button of a paper puts to the assistant."""
    return f"{card.title} 的核心贡献是什么？"


def digest_dates(cards: list[Card]) -> list[tuple[str, str]]:
    """(label, date) of each issue of the daily reports, newest first; a card without a date makes one "undated"
    issue, last."""
    counts: dict[str, int] = {}
    for card in cards:
        counts[card.date] = counts.get(card.date, 0) + 1
    return [(f"{date or 'undated'} · {n} papers", date) for date, n in sorted(counts.items(), reverse=True)]


def digest_html(cards: list[Card], date: str | None) -> str:
    """One issue: its papers grouped by the head of their field (the largest group first, "other" last), each
    with its title linked to the paper, its one-line contribution and an Ask button."""
    issue = [c for c in cards if c.date == date] if date is not None else []
    if not issue:
        return '<p class="rag-query">No daily report with paper sections in the index for this date.</p>'
    groups: dict[str, list[Card]] = {}
    for card in issue:
        groups.setdefault(card.area or OTHER_FIELD, []).append(card)
    order = sorted(groups, key=lambda head: (head == OTHER_FIELD, -len(groups[head])))  # stable: ties keep order
    documents = " · ".join(escape(d) for d in dict.fromkeys(c.doc_id for c in issue))
    parts = [
        f'<div class="rag-digest" data-date="{escape(date or "")}">'
        f'<p class="rag-query">{escape(date or "undated")} · {len(issue)} papers · {documents}</p>'
    ]
    for head in order:
        items = "".join(_paper_html(card) for card in groups[head])
        summary = f"<summary>{escape(head)} <span>({len(groups[head])})</span></summary>"
        parts.append(f'<details class="rag-field" open>{summary}<ul>{items}</ul></details>')
    parts.append("</div>")
    return "".join(parts)


def _paper_html(card: Card) -> str:
    title = escape(card.title)
    if is_upload(card.doc_id):  # its writer chose the link: shown, not followed (as in `passage_html`)
        link = f' <span class="rag-link">{escape(card.link)}</span>' if card.link else ""
        title = f'{title}{link} <span class="rag-uploaded">⚠ {_WORDS["en"]["uploaded"]}</span>'
    else:
        title = external_link(card.link, title, "rag-paper-title")
    question = escape(paper_question(card))
    ask = f'<button class="rag-ask" type="button" data-question="{question}" title="{question}">Ask · 提问</button>'
    said = f'<div class="rag-contribution">{escape(card.contribution)}</div>' if card.contribution else ""
    return f'<li class="rag-paper"><span class="rag-title">{title}</span> {ask}{said}</li>'
