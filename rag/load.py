"""Load digests from folders: find files, decode them, and read their structure (papers, dates, links)."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorpusError
from rag.types import Document, Section

logger = logging.getLogger(__name__)

SUFFIXES = (".md", ".markdown", ".txt", ".pdf")
# A digest is some 100 KB; a file of many MB is more likely a mistake (a dump, a log), and would take hours
# to embed on 2 CPU cores (about 12 passages of 600 characters a second).
MAX_FILE_BYTES = 16 * 1024 * 1024

# "## 📄 Paper title" opens one paper in the Hugging Face daily report; any "## " heading opens a
# section in other Markdown digests.
_PAPER_HEADING = re.compile(r"^## +📄\s*(.+?)\s*$", re.M)
_H2 = re.compile(r"^## +(.+?)\s*#*\s*$", re.M)
_H1 = re.compile(r"^# +(.+?)\s*$", re.M)
_LINK = re.compile(r"https?://[^\s)>\]*]+")
_DATE = re.compile(r"(20\d\d)[-_.](0[1-9]|1[0-2])(?:[-_.](0[1-9]|[12]\d|3[01]))?")


@dataclass(frozen=True)
class Problem:
    """A file that was skipped, and why."""

    path: str
    reason: str


def find_files(root: Path) -> list[Path]:
    """Lists the digest files under `root`, sorted; symlinks leading outside `root` are not followed."""
    if not root.exists():
        raise CorpusError(f"corpus folder not found: {root}")
    if root.is_file():
        return [root]
    real_root = root.resolve()
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in SUFFIXES or any(p.startswith(".") for p in path.relative_to(root).parts):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(real_root):
            logger.warning("skipping %s: symlink points outside the corpus folder", path)
            continue
        if path.is_file():
            found.append(path)
    return found


def decode(data: bytes, name: str) -> str:
    """Decodes digest bytes: UTF-8 (with or without BOM), else a detected legacy encoding such as GB18030.

    Raises:
        CorpusError: the bytes are binary or no encoding fits.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{name}: looks binary (NUL bytes), not a text digest")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise CorpusError(f"{name}: not UTF-8 and no text encoding detected")
    # GB2312 and GBK are subsets of GB18030; decoding with the superset never loses characters.
    encoding = "gb18030" if best.encoding.lower() in ("gb2312", "gbk", "gb18030") else best.encoding
    logger.info("%s: decoded as %s", name, encoding)
    return data.decode(encoding)


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pages = [page.extract_text() or "" for page in PdfReader(path).pages]
    except (PdfReadError, ValueError, KeyError) as e:
        raise CorpusError(f"{path.name}: unreadable PDF ({e})") from None
    return "\n\n".join(pages)


def _date(head: str, name: str) -> str:
    m = re.search(r"\*\*Date\*\*:\s*(\S+)", head) or _DATE.search(head) or _DATE.search(name)
    if not m:
        return ""
    if m.re is _DATE:
        return "-".join(g for g in m.groups() if g)
    return m.group(1)


def _sections(text: str) -> tuple[Section, ...]:
    """Splits Markdown into sections at paper headings (or, failing those, at '## ' headings)."""
    heads = list(_PAPER_HEADING.finditer(text)) or list(_H2.finditer(text))
    sections = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[m.end() : min(end, m.end() + 400)]
        link = _LINK.search(body)
        sections.append(Section(m.start(), end, m.group(1).strip(), link.group(0) if link else ""))
    return tuple(sections)


def parse(text: str, doc_id: str) -> Document:
    """Builds a Document from decoded text, finding its title, date and sections."""
    name = Path(doc_id).name
    title_match = _H1.search(text[:2000])
    title = title_match.group(1).strip() if title_match else Path(doc_id).stem
    markdown = Path(doc_id).suffix.lower() in (".md", ".markdown")
    return Document(
        doc_id=doc_id,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        title=title,
        date=_date(text[:1000], name),
        sections=_sections(text) if markdown else (),
    )


def read_document(path: Path, doc_id: str) -> Document:
    """Reads one digest file.

    Raises:
        CorpusError: the file cannot be read, is too large, binary, or empty.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CorpusError(f"{doc_id}: {size / 2**20:.0f} MB is over the {MAX_FILE_BYTES // 2**20} MB limit")
        text = _read_pdf(path) if path.suffix.lower() == ".pdf" else decode(path.read_bytes(), doc_id)
    except OSError as e:
        raise CorpusError(f"{doc_id}: cannot read ({e.strerror or e})") from None
    text = text.replace("\r\n", "\n").replace("\x00", "")
    if not text.strip():
        raise CorpusError(f"{doc_id}: empty file")
    return parse(text, doc_id)


def load_corpus(roots: list[Path]) -> tuple[list[Document], list[Problem]]:
    """Reads every digest under `roots`. Unreadable files are returned as problems, not raised.

    Document ids are paths relative to their root, so they survive moving the corpus folder.

    Raises:
        CorpusError: a root does not exist.
    """
    documents: dict[str, Document] = {}
    seen: dict[str, str] = {}  # text sha256 -> doc_id
    problems = []
    for root in roots:
        for path in find_files(root):
            doc_id = path.name if root.is_file() else path.relative_to(root).as_posix()
            if doc_id in documents:
                problems.append(Problem(str(path), f"another file is already indexed as {doc_id}"))
                continue
            try:
                document = read_document(path, doc_id)
            except CorpusError as e:
                problems.append(Problem(str(path), str(e)))
                continue
            if document.sha256 in seen:  # one digest saved twice would fill the top hits with copies
                problems.append(Problem(str(path), f"same text as {seen[document.sha256]}, which is indexed"))
                continue
            seen[document.sha256] = doc_id
            documents[doc_id] = document
    return list(documents.values()), problems
