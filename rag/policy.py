"""The answer policy: every check that can decline or amend an answer, each with a name.

An answer records the names of the checks that fired (`Answer.checks`), and `answer.skip` switches checks off
by name, so each can be measured by its absence (`rag eval --answers --ablate NAME`). The table `CHECKS` says
what each one does and why; docs/results/answers.md says what removing it costs.

A reply the checks set aside declines, with the closest passages: answering with the passages' best sentence
instead was measured and dropped (docs/decisions/0003).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Container, Sequence, Set
from dataclasses import dataclass, field, replace

from rag import cite
from rag.chunk import headings
from rag.config import AnswerConfig
from rag.errors import ConfigError
from rag.excerpt import Passage, header
from rag.keyword import tokenize
from rag.types import Hit

logger = logging.getLogger(__name__)

Relevance = Callable[[list[str]], Sequence[float]]  # scores sentences for the question


@dataclass(frozen=True)
class Check:
    name: str
    when: str  # "before" generating, "during" or "after"
    does: str  # what happens when it fires
    why: str  # the principle, stated without any question
    keys: str = ""  # the settings it reads


CHECKS = {
    c.name: c
    for c in (
        Check(
            "unseen_terms",
            "before",
            "declines without generating",
            "most of the question's terms occur in no digest: it is about something they do not cover",
            "answer.max_unseen",
        ),
        Check(
            "low_relevance",
            "before",
            "declines without generating",
            "no passage holds enough of the question's terms and none is close to it in meaning",
            "answer.min_coverage, answer.min_similarity",
        ),
        Check(
            "question_names",
            "before",
            "declines without generating",
            "a name the question asks about (a model, benchmark or metric: 'MOVA', 'GSM8K', 'WER') that nothing "
            "retrieved holds means the digests do not hold the asked-for fact",
        ),
        Check(
            "loop",
            "during",
            "stops generating; keeps the whole sentences before the loop",
            "a phrase repeated three times in a row is a decoding loop, not an answer",
        ),
        Check(
            "too_long",
            "during",
            "stops generating after two sentences",
            "the prompt asks for one or two sentences; what the model writes after them is not the answer",
        ),
        Check(
            "repeats",
            "after",
            "removes the sentence",
            "a sentence whose terms all occur in an earlier one adds nothing",
        ),
        Check(
            "citations",
            "after",
            "re-points or drops [n] markers",
            "a marker must name a passage holding the sentence's figures, names and most of its terms",
            "answer.support, answer.similarity",
        ),
        Check(
            "unsupported",
            "after",
            "sets the reply aside",
            "when most of a reply's sentences are backed by no passage, the model wrote from memory",
            "answer.min_supported",
        ),
        Check(
            "answer_type",
            "after",
            "sets the reply aside; a passage sentence without a figure is no answer either",
            "a question asking how many, how much or what score is answered by a figure, in the unit it names",
        ),
        Check(
            "says_nothing",
            "after",
            "adds the best passage sentence as a quote",
            "a reply that only repeats the question, titles or headings leaves the answer unsaid",
        ),
        Check(
            "instructions",
            "after",
            "adds a note naming the sources that address AI assistants",
            "a passage giving orders to an AI reader was read without them (rag/injection.py); the reader should "
            "know the source tried",
        ),
    )
}

DECLINE = {
    "zh": "日报和周报里都没有找到这个问题的答案。下面是最接近的段落。",
    "en": "The digests don't say. The closest passages are below.",
}
QUOTE = {"zh": "最相关的原文：", "en": "The closest passage says:"}
INSTRUCTIONS = {
    "zh": "注意：来源 {sources} 含有写给 AI 助手的指令，助手没有读取，也没有照做。",
    "en": "Note: source {sources} holds instructions addressed to AI assistants; they were not read or followed.",
}
_DANGLING = re.compile(r"(?:\b(?:is|are|was|were|called|named|of|the|a|an|by|as)|[是为：:])$", re.IGNORECASE)
_ENDS = " \n。.!！?？"
_EMPHASIS = re.compile(r"\*\*|__|`")
_BULLET = re.compile(r"^(?:[-*•+]|\d{1,2}[.)])\s+")  # "*   优势：...", "2. ..." quoted without their list mark
# A question after a quantity, in either language.
_QUANTITY = re.compile(
    r"多少|几[个倍分位项种次年月天小秒张卡]|多[快大长高]|倍|百分之|得分|分数|准确率|比例|"
    r"\bhow (?:many|much|fast|large|big|long|high|low)\b|\bby what (?:factor|margin)\b|"
    r"\bwhat (?:\w+ )?(?:score|percentage|percent|fraction|share|rate|ratio|accuracy|number|speed-?up)\b|"
    r"\bscore[sd]?\b",
    re.IGNORECASE,
)
# ... unless it asks which one or who.
_NAMING = re.compile(
    r"哪[个些篇种款位家一]|什么|谁|\b(?:which|who|whose)\b|\bwhat (?:is|are|was) the name", re.IGNORECASE
)
_CLAUSE = re.compile(r"[,，;；]\s*(?:and\s+|以及|并且|还有)?|\s+and\s+(?=how|what|by)", re.IGNORECASE)
_LOOP_SPAN = (4, 60)  # lengths, in characters, of the phrases a loop is looked for at
_STOPS = "。！？.!?]】"  # a sentence that ends in one of these is whole (a marker ends one too)


def validate(skip: Sequence[str]) -> None:
    unknown = sorted(set(skip) - set(CHECKS))
    if unknown:
        raise ConfigError(f"answer.skip names no check: {', '.join(unknown)}; the checks are {', '.join(CHECKS)}")


def loop_end(text: str) -> int | None:
    """Where to cut `text` when it ends in a phrase written three times in a row, else None: before the loop,
    at the end of the last whole sentence when there is one. A phrase holds a letter, digit or Chinese
    character: a table rule ("---|---|---|") is no loop."""
    for size in range(*_LOOP_SPAN):
        if len(text) < 3 * size:
            break
        tail = text[-size:]
        if re.search(r"\w", tail) and text[-2 * size : -size] == tail and text[-3 * size : -2 * size] == tail:
            before = text[: len(text) - 3 * size]
            whole = [end for start, end in cite.sentences(before) if before[start:end].rstrip()[-1:] in _STOPS]
            return whole[-1] if whole else len(before)
    return None


def past_two_sentences(text: str) -> int | None:
    """Where a third sentence with words starts in `text` (the end of the second), else None. Only a sentence
    ending in end punctuation counts: lines copied from a table or an OCR page are no sentences."""
    ended = [
        e
        for s, e in cite.sentences(text)
        if cite.strip_markers(text[s:e]).rstrip()[-1:] in "。！？.!?" and tokenize(cite.strip_markers(text[s:e]))
    ]
    return ended[1] if len(ended) > 2 else None


def drop_repeats(reply: str) -> str:
    """Removes each sentence whose terms all occur in one earlier sentence."""
    kept: list[set[str]] = []
    out = []
    for start, end in cite.sentences(reply):
        terms = set(tokenize(cite.strip_markers(reply[start:end])))
        if terms and any(terms <= earlier for earlier in kept):
            continue
        kept.append(terms)
        out.append(reply[start:end])
    return "".join(out)


def known_terms(question: str, passages: list[Passage]) -> set[str]:
    """The terms a reply can repeat without saying anything: the question's and, for each passage, those of its
    header (paper title, date) and of the section headings the model read in it ("3. **使用指南**")."""
    known = [question] + [header(p) for p in passages] + [h for p in passages for h in headings(p.shown)]
    return set().union(*map(tokenize, known))


def says_nothing(reply: str, known: set[str]) -> bool:
    """True when the reply holds no term beyond the `known` ones (a title or heading echoed back), or a
    sentence of it stops before its object ("the index used to show this is [1].")."""
    text = cite.strip_markers(reply)
    if any(_DANGLING.search(text[s:e].strip().rstrip(_ENDS)) for s, e in cite.sentences(text)):
        return True
    return not set(tokenize(text)) - known


def coverage(question: str, hits: list[Hit]) -> float:
    """The largest share of the question's terms that one passage (with its title) holds."""
    terms = set(tokenize(question))
    if not terms:
        return 0.0
    return max((len(terms & set(tokenize(h.chunk.embed_text or h.chunk.text))) / len(terms) for h in hits), default=0.0)


def unseen(question: str, vocabulary: Container[str]) -> float:
    """The share of the question's terms that occur in no indexed chunk (0 for a question without terms)."""
    terms = set(tokenize(question))
    return sum(t not in vocabulary for t in terms) / len(terms) if terms else 0.0


def asks_for_figure(question: str) -> bool:
    """True for a question after a quantity (how many, how much, what score, rate or share, how fast) in a clause
    that does not ask which one or who ("哪个系统只要几秒钟的录音..." asks for a name; "几秒" there is "a few
    seconds"; "Which model is it, and how many parameters does it have?" asks for both)."""
    clauses = _CLAUSE.split(question)
    return any(_QUANTITY.search(c) and not _NAMING.search(c) for c in clauses)


def has_figure(text: str, units: Set[str] = frozenset()) -> bool:
    """True when the text holds a figure beyond list numbers, markers and dates (see `cite.figures`); with
    `units` (those the question names), one written in such a unit or in none known ("42,000 小时" does not
    answer "how many GPUs")."""
    return any(not units or None in said or said & units for said in cite.units(text).values())


def _squeezed(text: str) -> str:
    """Lower-cased letters and digits only: "GPT-4o" and "gpt4o", "Qwen3 Embedding" and "qwen3-embedding" meet."""
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]", "", unicodedata.normalize("NFKC", text).lower())


def _held(name: str, text: str) -> bool:
    """True when `text` (squeezed) holds `name` (squeezed); a name of five characters or more may differ by one
    character, as OCR misreads them ("GSM8K" read as "GSMB8K")."""
    if name in text:
        return True
    if len(name) < 5:
        return False
    edits = {name[:i] + "." + name[i:] for i in range(1, len(name))}  # one character more
    edits |= {name[:i] + "." + name[i + 1 :] for i in range(len(name))}  # one character other
    edits |= {name[:i] + name[i + 1 :] for i in range(1, len(name) - 1)}  # one character fewer
    return re.search("|".join(e if "." in e else re.escape(e) for e in edits), text) is not None


def missing_names(question: str, hits: list[Hit]) -> list[str]:
    """The names of the question (see `cite.names`) that none of the hits, titles included, holds; a metric may
    be spelled out or in Chinese there ("WER" = "词错误率")."""
    held = _squeezed(" ".join(f"{h.chunk.title} {h.chunk.section} {h.chunk.text}" for h in hits))
    return [name for name in cite.names(question) if not any(_held(_squeezed(a), held) for a in cite.aliases(name))]


@dataclass(frozen=True)
class Evidence:
    """The passage sentence that best answers the question."""

    n: int
    sentence: str

    def quoted(self, lang: str) -> str:
        plain = _BULLET.sub("", " ".join(_EMPHASIS.sub("", cite.strip_markers(self.sentence)).split()))
        return f"{QUOTE[lang]}{' ' if lang == 'en' else ''}“{plain}” [{self.n}]"


def evidence(
    passages: list[Passage],
    relevance: Relevance,
    judge: Relevance | None = None,
    k: int = 5,
    known: Set[str] = frozenset(),
    units: Set[str] | None = None,
) -> Evidence | None:
    """The passage sentence most likely to answer the question: the embedder's `k` best, the judge's pick.

    Passages flagged for addressing an AI reader, headings, sentences adding no term to `known` (the question's,
    titles') and, for a question after a figure (`units` not None: the units it names), sentences without such a
    figure are no candidates.
    """
    candidates = [
        (p.n, p.shown[s:e].strip())
        for p in passages
        if not p.hit.chunk.flags  # a passage addressing an AI reader is never quoted as the answer
        for s, e in cite.sentences(p.shown)
        if not p.shown[s:e].lstrip().startswith("#")
        and set(tokenize(p.shown[s:e])) - known
        and (units is None or has_figure(p.shown[s:e], units))
    ]
    if not candidates:
        return None
    scores = relevance([sentence for _, sentence in candidates])
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))  # ties keep the earlier sentence
    if judge is None or k < 1:
        return Evidence(*candidates[order[0]])
    top = order[:k]
    judged = judge([candidates[i][1] for i in top])
    return Evidence(*candidates[top[max(range(len(top)), key=lambda j: (judged[j], -j))]])


@dataclass
class Verdict:
    """What the policy made of a reply: the checked answer to show (None to decline) and the checks that fired."""

    checked: cite.Checked | None = None
    fired: list[str] = field(default_factory=list)
    reply: str = ""  # the reply as checked, before a quote or a note is added to `checked.text`
    quote: str = ""  # the quote added


class Policy:
    """Applies the checks in `CHECKS` that `config.skip` leaves on."""

    def __init__(self, config: AnswerConfig):
        validate(config.skip)
        self.config = config

    def on(self, name: str) -> bool:
        return name not in self.config.skip

    def before(
        self, question: str, hits: list[Hit], retrieved: list[Hit], similarity: float, vocabulary: Container[str]
    ) -> str | None:
        """The name of the check that declines the question before generating, or None.

        Args:
            hits: The passages the model would read.
            retrieved: Every hit of the search.
        """
        c = self.config
        if not hits:
            return "low_relevance"
        if self.on("unseen_terms") and unseen(question, vocabulary) >= c.max_unseen:
            return "unseen_terms"
        if self.on("low_relevance") and coverage(question, hits) < c.min_coverage and similarity < c.min_similarity:
            return "low_relevance"
        if self.on("question_names") and missing_names(question, retrieved):
            return "question_names"
        return None

    def after(
        self,
        question: str,
        lang: str,
        reply: str,
        passages: list[Passage],
        check: Callable[[str], cite.Checked],
        find_evidence: Callable[[Set[str], Set[str] | None], Evidence | None],
        listing: bool = False,
    ) -> Verdict:
        """Checks the reply; sets it aside, amends it or falls back on the passages' best sentence.

        Args:
            check: Checks an answer's citations against the passages (`cite.check` bound to them).
            find_evidence: The passages' best sentence for the question (`evidence` bound to them), given the
                terms it must add to and, for a question after a figure, the units it may be in.
        """
        c, verdict = self.config, Verdict()
        fired = verdict.fired
        usable = bool(reply.strip())
        if usable and self.on("repeats") and (shorter := drop_repeats(reply)) != reply:
            fired.append("repeats")
            reply = shorter
        checked = None
        if usable:
            checked = check(reply) if self.on("citations") else as_written(reply, passages)
            if checked.repaired:
                fired.append("citations")
            supported = checked.sentences - len(checked.unsupported)
            if self.on("unsupported") and (supported == 0 or supported < c.min_supported * checked.sentences):
                fired.append("unsupported")
                usable = False
        figure = self.on("answer_type") and asks_for_figure(question)
        units = cite.units_asked(question) if figure else set()
        if usable and figure and not has_figure(reply, units):
            fired.append("answer_type")
            usable = False
        known = known_terms(question, passages)
        if usable and checked is not None:
            verdict.reply = checked.text
            # The quote is looked for last, only when the reply says nothing: the judge costs seconds.
            if (
                not listing
                and self.on("says_nothing")
                and says_nothing(reply, known)
                and (quote := find_evidence(known, units if figure else None))
            ):
                fired.append("says_nothing")
                checked = check(f"{reply.strip()}\n\n{quote.quoted(lang)}")
                start = checked.text.rfind(QUOTE[lang])  # the check may move the quote's marker: read it back
                verdict.reply, verdict.quote = checked.text[:start].rstrip(), checked.text[start:]
            if self.on("instructions") and (flagged := [p.n for p in passages if p.hit.chunk.flags]):
                fired.append("instructions")
                note = INSTRUCTIONS[lang].format(sources=" ".join(f"[{n}]" for n in flagged))
                checked = replace(checked, text=f"{checked.text}\n\n{note}")
            verdict.checked = checked
        if verdict.checked is None:
            logger.info("declined after %s: %r", fired, reply[:200])
        return verdict


def decline_reason(checks: Sequence[str]) -> str:
    """Why an answer was declined, in a line: the check that declined or set the reply aside, and its principle."""
    for name in checks:
        check = CHECKS.get(name)
        if check is not None and check.does.startswith(("declines", "sets the reply aside")):
            return f"{name}: {check.why}"
    return "the model wrote no reply"


def as_written(reply: str, passages: list[Passage]) -> cite.Checked:
    """The reply with its markers as the model wrote them (what the answer is without the `citations` check):
    each marker naming a passage cites it, at the passage sentence sharing most terms with the reply."""
    given = {n for n in cite.markers(reply) if 1 <= n <= len(passages)}
    spans = tuple((n, *cite.best_span(f"{header(passages[n - 1])}\n{passages[n - 1].text}", reply)) for n in given)
    claims = sum(bool(tokenize(cite.strip_markers(reply[s:e]))) for s, e in cite.sentences(reply))
    return cite.Checked(reply.strip(), tuple(sorted(spans)), claims, (), 0)
