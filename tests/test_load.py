import os
from pathlib import Path

import pytest

from rag import load
from rag.errors import CorpusError
from rag.load import decode, find_files, load_corpus, read_document

TEXT = "本周日报：Qwen3-8B 在 GSM8K 上提高了 12.5%。"


def test_reads_utf8_bom_and_gb18030(tmp_path: Path):
    (tmp_path / "bom.md").write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    (tmp_path / "gbk.txt").write_bytes((TEXT * 20).encode("gb18030"))
    docs, problems = load_corpus([tmp_path])
    assert problems == []
    by_id = {d.doc_id: d for d in docs}
    assert by_id["bom.md"].text == TEXT
    assert by_id["gbk.txt"].text == TEXT * 20


def test_unreadable_files_are_reported_and_the_rest_indexes(tmp_path: Path):
    (tmp_path / "good.md").write_text(TEXT, encoding="utf-8")
    (tmp_path / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00" + bytes(range(256)))
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    docs, problems = load_corpus([tmp_path])
    assert [d.doc_id for d in docs] == ["good.md"]
    reasons = {Path(p.path).name: p.reason for p in problems}
    assert "binary" in reasons["binary.md"]
    assert "empty" in reasons["empty.txt"]


def test_locked_and_vanished_files_are_reported_and_the_rest_indexes(tmp_path: Path, monkeypatch):
    for name in ("good.md", "locked.md", "gone.md"):
        (tmp_path / name).write_text(TEXT + name, encoding="utf-8")
    (tmp_path / "locked.md").chmod(0)
    if os.geteuid() == 0:  # root reads a mode-000 file anyway: raise what the OS gives everyone else
        read_bytes = Path.read_bytes

        def refuse_locked(path: Path) -> bytes:
            if path.name == "locked.md":
                raise PermissionError(13, "Permission denied", str(path))
            return read_bytes(path)

        monkeypatch.setattr(Path, "read_bytes", refuse_locked)
    listed = load.find_files(tmp_path)
    (tmp_path / "gone.md").unlink()  # deleted after it was listed, before it was read
    monkeypatch.setattr(load, "find_files", lambda root: listed)
    docs, problems = load.load_corpus([tmp_path])
    assert [d.doc_id for d in docs] == ["good.md"]
    reasons = {Path(p.path).name: p.reason for p in problems}
    assert reasons == {
        "locked.md": "locked.md: cannot read (Permission denied)",
        "gone.md": "gone.md: cannot read (No such file or directory)",
    }


def test_decode_refuses_binary():
    with pytest.raises(CorpusError, match="binary"):
        decode(b"abc\x00def", "x.md")


def test_daily_report_structure(corpus: Path):
    doc = read_document(corpus / "daily-2026-01-05.md", "daily-2026-01-05.md")
    assert doc.title == "Daily Papers Report"
    assert doc.date == "2026-01-05"
    assert [s.title for s in doc.sections] == [
        "VidGen: Long Video Generation",
        "MathRL: Reinforcement Learning for Math",
    ]
    assert doc.sections[1].link == "https://example.org/papers/2"


def test_date_from_file_name_when_header_has_none(corpus: Path):
    doc = read_document(corpus / "weekly-2025-06.txt", "weekly-2025-06.txt")
    assert doc.date == "2025-06"
    assert doc.sections == ()


def test_symlink_outside_corpus_is_not_followed(tmp_path: Path):
    outside = tmp_path / "secret.md"
    outside.write_text("secret", encoding="utf-8")
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.md").write_text(TEXT, encoding="utf-8")
    (root / "link.md").symlink_to(outside)
    assert [p.name for p in find_files(root)] == ["a.md"]


def test_missing_corpus_folder(tmp_path: Path):
    with pytest.raises(CorpusError, match="not found"):
        load_corpus([tmp_path / "nope"])


def test_pdf_is_read(tmp_path: Path):
    # A minimal one-page PDF with the text "Hello digest" in a standard font.
    content = b"BT /F1 12 Tf 72 720 Td (Hello digest) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    (tmp_path / "report.pdf").write_bytes(bytes(out))
    doc = read_document(tmp_path / "report.pdf", "report.pdf")
    assert "Hello digest" in doc.text


def test_a_50_mb_file_is_refused_and_the_rest_indexes(tmp_path: Path):
    (tmp_path / "good.md").write_text(TEXT, encoding="utf-8")
    with open(tmp_path / "dump.txt", "wb") as f:
        f.truncate(50 * 2**20)  # sparse: no 50 MB written
    docs, problems = load_corpus([tmp_path])
    assert [d.doc_id for d in docs] == ["good.md"]
    assert [p.reason for p in problems] == ["dump.txt: 50 MB is over the 16 MB limit"]


def test_the_same_digest_under_two_names_is_indexed_once(tmp_path: Path):
    (tmp_path / "a.md").write_text(TEXT, encoding="utf-8")
    (tmp_path / "copy of a.md").write_text(TEXT, encoding="utf-8")
    docs, problems = load_corpus([tmp_path])
    assert [d.doc_id for d in docs] == ["a.md"]
    assert [p.reason for p in problems] == ["same text as a.md, which is indexed"]
