"""Frozen dataclasses that cross every stage boundary."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A titled span of a document: one paper of a daily report, or the whole of a plain text."""

    start: int
    end: int
    title: str
    link: str = ""


@dataclass(frozen=True)
class Document:
    """One digest file, read and decoded.

    Attributes:
        doc_id: Path relative to the corpus root, with forward slashes; stable across machines.
        text: The decoded text. Every chunk offset points into it.
        sha256: Hash of `text`, used to detect changed documents.
        title: The document's own title (first heading, or the file name).
        date: ISO date (or year-month) found in the header or the file name, else "".
        sections: Paper sections in order; empty for unstructured text.
    """

    doc_id: str
    text: str
    sha256: str
    title: str
    date: str = ""
    sections: tuple[Section, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A passage of a document with everything a citation needs.

    `text` is exactly `document.text[start:end]`; `embed_text` is what the embedder saw
    (the passage with its paper title and heading in front);
    `embed_hash` is the sha256 of `embed_text`, the key of the embedding cache.
    `flags` names the kinds of address to an AI reader the text holds (rag/injection.py), found at index time:
    the model never reads those sentences and the passage is never quoted as an answer.
    """

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    title: str
    section: str = ""
    heading: str = ""
    link: str = ""
    date: str = ""
    embed_text: str = ""
    embed_hash: str = field(default="", compare=False)
    flags: tuple[str, ...] = ()

    @property
    def in_paper(self) -> bool:
        """True for a chunk of a paper section; a document without papers, or its preamble before the first
        paper, has the document's title as its section."""
        return self.section != self.title


@dataclass(frozen=True)
class Hit:
    """One search result."""

    rank: int
    score: float
    chunk: Chunk


@dataclass(frozen=True)
class Citation:
    """A passage an answer cites as [n], with the span of its supporting words.

    `start`/`end` index into `chunk.text`, so a page can highlight `chunk.text[start:end]`.
    """

    n: int
    chunk: Chunk
    start: int
    end: int

    @property
    def quote(self) -> str:
        return self.chunk.text[self.start : self.end]


@dataclass(frozen=True)
class Answer:
    """The assistant's reply to one question.

    Attributes:
        answerable: False when the assistant declined because the digests do not hold the answer.
        citations: The passages the text cites, in [n] order.
        passages: What the model read (or, after declining, the closest passages), in [n] order.
        unsupported: Answer sentences that no given passage supports.
        lang: "zh" or "en", the language of the question and of the answer.
        query: The standalone question retrieval used (a follow-up rewritten from the conversation).
        checks: The names of the checks of rag/policy.py that fired, in order.
        reply: The model's own words as checked ("" after declining). `text` is what is shown: the reply, then
            `quote`, then any note the checks add.
        quote: The passage sentence quoted after a reply that said nothing of its own, with its [n]; or "".
        decline_reason: Why the assistant declined, in a line ("" when it answered).
    """

    question: str
    text: str
    answerable: bool
    citations: tuple[Citation, ...] = ()
    passages: tuple[Hit, ...] = ()
    unsupported: tuple[str, ...] = ()
    sentences: int = 0
    lang: str = "en"
    query: str = ""
    checks: tuple[str, ...] = ()
    reply: str = ""
    quote: str = ""
    decline_reason: str = ""
