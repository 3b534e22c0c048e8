"""Follow-up questions ("它的参数量呢？") rewritten into questions that stand alone, from the last turn."""

from __future__ import annotations

import logging
import re

from rag.generate import Generator
from rag.keyword import tokenize
from rag.prompts import REWRITE

logger = logging.getLogger(__name__)

# Words that point back into the conversation; a question without them is taken as standalone (a 0.5B model
# asked to rewrite a complete question tends to turn it into a statement). "这期日报", "这份周报" name the digest;
# "应该" (should), "尤其" (especially), "其他" (other) point nowhere.
_FOLLOW_UP = re.compile(
    r"[它那此]|(?<![应])该|(?<![尤极])其(?!他)|这(?![期份])|"
    r"\b(?:it|its|they|them|their|this|that|these|those|he|she|his|her)\b",
    re.IGNORECASE,
)
# A rewrite must still ask something: asked to rewrite, the 0.5B default model sometimes answers instead
# ("What is NanoQuant and how small does it make a 70B model?" came back as "NanoQuant is a small 70B model.").
_ASKING = re.compile(
    r"[?？]|吗|呢|什么|哪|多少|几|如何|怎|是否|为什么|谁|"
    r"^\s*(?:what|which|who|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|will|has|have)\b",
    re.IGNORECASE,
)
_HISTORY_TURNS = 1  # "it" points to the subject of the last turn
_HISTORY_CHARS = 300


def _is_rewrite_of(rewritten: str, question: str) -> bool:
    """True when `rewritten` still asks a question, keeps at least half of the follow-up's own terms and adds
    some of its own (what "it" stood for)."""
    if not _ASKING.search(rewritten):
        return False
    terms, kept = set(tokenize(question)), set(tokenize(rewritten))
    return len(terms & kept) >= len(terms) / 2 and bool(kept - terms)


def _names_something(question: str) -> bool:
    """True when the question holds a name: a Latin-script word with a figure ("70B"), capitals inside it
    ("NanoQuant", "MOVA") or a capital after the first word ("What does Aster do?")."""
    words = re.findall(r"[A-Za-z0-9][\w.+-]*", question)
    return any(
        any(c.isdigit() for c in w) or w[1:] != w[1:].lower() or (i > 0 and w[0].isupper() and w != "I")
        for i, w in enumerate(words)
    )


def standalone(generator: Generator, question: str, history: list[tuple[str, str]]) -> str:
    """Rewrites a follow-up ("它的参数量呢？") into a question that stands alone, using the last turn."""
    if not history or not _FOLLOW_UP.search(question):
        return question
    turns = "\n".join(
        f"User: {user[:_HISTORY_CHARS]}\nAssistant: {reply[:_HISTORY_CHARS]}"
        for user, reply in history[-_HISTORY_TURNS:]
    )
    messages = [
        {"role": "system", "content": REWRITE},
        {"role": "user", "content": f"Conversation:\n{turns}\n\nLast message: {question}\nStandalone question:"},
    ]
    lines = "".join(generator.stream(messages, 80)).strip().splitlines()
    rewritten = lines[0].strip() if lines else ""
    if _is_rewrite_of(rewritten, question):
        logger.info("follow-up %r rewritten as %r", question, rewritten)
        return rewritten
    # Without a usable rewrite, a follow-up that names nothing of its own is searched together with the
    # question before it ("MOVA 是什么？ 它的参数量呢？"); one that does name something stands as it is.
    fallback = question if _names_something(question) else f"{history[-1][0]} {question}"
    logger.info("rewrite %r of follow-up %r rejected; searching for %r", rewritten, question, fallback)
    return fallback
