"""Split documents into passages that respect Markdown structure and Chinese sentences, with exact offsets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.config import ChunkConfig
from rag.types import Chunk, Document

# Sub-headings inside a paper: "### 4. 主要创新点", "## 5. 实验效果" or "2. **一句话核心贡献**：".
_HEADING = re.compile(r"^(?:#{1,4} +(.+?)|\d+\.\s*\*\*(.+?)\*\*[:：]?)\s*$", re.M)

# Coarsest first: headings, paragraphs, lines, then sentence ends in Chinese and English, then clauses.
SEPARATORS = [
    r"\n(?=#{1,4} )",
    r"\n(?=\d+\.\s*\*\*)",
    r"\n\n",
    r"\n",
    r"(?<=[。！？；])",
    r"(?<=[.!?;])\s",
    r"(?<=[，、：,:])",
    r"\s",
    r"",
]
_NOISE = re.compile(r"\*\*|`|^=+$", re.M)


def _splitter(config: ChunkConfig) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
        chunk_size=config.size,
        chunk_overlap=config.overlap,
        strip_whitespace=True,
    )


def _regions(doc: Document) -> Iterable[tuple[int, int, str, str]]:
    """Yields (start, end, section title, link): the header before the first paper, then each paper."""
    if not doc.sections:
        yield 0, len(doc.text), doc.title, ""
        return
    if doc.text[: doc.sections[0].start].strip():
        yield 0, doc.sections[0].start, doc.title, ""
    for s in doc.sections:
        yield s.start, s.end, s.title, s.link


def _clean(text: str) -> str:
    return re.sub(r"[ \t]*\n\s*", "\n", _NOISE.sub("", text)).strip()


def _heading(match: re.Match) -> str:
    return (match.group(1) or match.group(2)).strip(" #*：:")


def headings(text: str) -> list[str]:
    """The section headings in `text`: Markdown ones ("### 3. 使用指南") and numbered bold ones ("3. **使用指南**")."""
    return [_heading(m) for m in _HEADING.finditer(text)]


def chunk_document(doc: Document, config: ChunkConfig) -> list[Chunk]:
    """Splits one document into chunks; each chunk's `text` is exactly `doc.text[start:end]`."""
    splitter = _splitter(config)
    chunks = []
    for region_start, region_end, section, link in _regions(doc):
        region = doc.text[region_start:region_end]
        # The paper heading itself (at offset 0) is the section title, not a sub-heading.
        subheadings = [(m.start(), _heading(m)) for m in _HEADING.finditer(region, 1)]
        cursor = 0
        for piece in splitter.split_text(region):
            if not _clean(piece):
                continue
            # Pieces come back in order and overlap by at most config.overlap characters.
            offset = region.find(piece, max(0, cursor - config.overlap - len(piece)))
            if offset < 0:
                offset = region.find(piece)
            cursor = offset + len(piece)
            heading = ""
            for h_start, h_text in subheadings:
                if h_start > offset:
                    break
                heading = h_text
            if heading == section:
                heading = ""
            start = region_start + offset
            first_line = _clean(piece).split("\n", 1)[0]
            prefix = "\n".join(p for p in (section, heading) if p and p not in first_line)
            embed_text = _clean(f"{prefix}\n{piece}" if prefix else piece)
            embed_hash = hashlib.sha256(embed_text.encode("utf-8")).hexdigest()
            chunk_id = hashlib.sha256(f"{doc.doc_id}:{start}:{embed_hash}".encode()).hexdigest()[:16]
            chunks.append(
                Chunk(
                    chunk_id=chunk_id,
                    doc_id=doc.doc_id,
                    start=start,
                    end=start + len(piece),
                    text=piece,
                    title=doc.title,
                    section=section,
                    heading=heading,
                    link=link,
                    date=doc.date,
                    embed_text=embed_text,
                    embed_hash=embed_hash,
                )
            )
    return chunks
