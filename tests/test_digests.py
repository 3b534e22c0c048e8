"""bench/digests.py: months of seeded daily and weekly digests, read by rag.load like the real report."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from rag.chunk import headings
from rag.load import load_corpus, read_document

REPO = Path(__file__).resolve().parent.parent
REAL = REPO / "corpus" / "hf-daily-papers-2026-02-10.md"
# A numbered sub-section heading in any of the real report's three styles: "1. **应用领域**：", "1. **应用领域**",
# "### 1. 应用领域"; the items under 主要创新点 ("1.  **...**：...") are indented or have two spaces, so never match.
SUBHEADING = re.compile(r"^(?:#{1,4}\s*)?[1-9]\.\s(?:\*\*)?([\u4e00-\u9fff]+)(?:\*\*)?(?:[：:]|$)", re.M)
# Independent of the generator's phrasings: how a reader tells released, promised and not mentioned apart.
AVAILABILITY_WORDS = {"released": r"已(在|开源|发布)", "promised": r"承诺|即将|计划", "none": r"未(提及|说明)"}


@pytest.fixture(scope="module")
def digests():
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(REPO))
        return importlib.import_module("bench.digests")


@pytest.fixture(scope="module")
def generated(digests, tmp_path_factory):
    out = tmp_path_factory.mktemp("digests")
    return out, digests.generate(out)


def _papers(path: Path) -> list[str]:
    """The text of each paper of a daily report, as the loader splits it."""
    doc = read_document(path, path.name)
    return [doc.text[s.start : s.end] for s in doc.sections]


def _subsection(paper: str, name: str) -> str:
    marks = list(SUBHEADING.finditer(paper))
    i = next(i for i, m in enumerate(marks) if m.group(1) == name)
    return paper[marks[i].end() : marks[i + 1].start() if i + 1 < len(marks) else len(paper)]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_writes_the_same_bytes_and_another_seed_differs(digests, generated, tmp_path):
    out, _ = generated
    digests.generate(tmp_path / "again")
    digests.generate(tmp_path / "other", seed=1)
    assert _files(tmp_path / "again") == _files(out)
    other = _files(tmp_path / "other")
    assert other.keys() == _files(out).keys()  # same calendar, other papers
    assert all(other[name] != data for name, data in _files(out).items())


def test_three_months_of_weekday_dailies_and_a_weekly_per_week(digests, generated):
    out, manifest = generated
    daily, weekly = manifest.of_kind("daily"), manifest.of_kind("weekly")
    assert len(daily) >= 60 and len(weekly) >= 8 and len(daily) + len(weekly) == len(manifest.reports)
    days = [date.fromisoformat(r.date) for r in manifest.reports]
    assert (max(days) - min(days)).days >= 89
    start = date(2026, 1, 5)
    weekdays = [start + timedelta(n) for n in range(91) if (start + timedelta(n)).weekday() < 5]
    assert [r.date for r in daily] == [d.isoformat() for d in weekdays]
    assert [r.file for r in daily] == [f"hf-daily-papers-{d}.md" for d in weekdays]
    assert all(re.fullmatch(r"ai-weekly-\d{4}-\d\d-\d\d\.md", r.file) for r in weekly)
    assert all(date.fromisoformat(r.date).weekday() == 6 for r in weekly)
    assert all(3 <= len(r.papers) <= 12 for r in daily)
    papers = [p for r in daily for p in r.papers]
    assert len({p.title for p in papers}) == len({p.link for p in papers}) == len(papers)
    assert {p.field for p in papers} == set(digests.FIELDS) and len(digests.FIELDS) == 12
    assert {p.availability for p in papers} == set(digests.AVAILABILITY)
    assert sorted(p.name for p in out.iterdir()) == sorted([r.file for r in manifest.reports] + ["manifest.json"])


def test_every_daily_reads_like_the_real_report(generated):
    out, manifest = generated
    real = read_document(REAL, REAL.name)
    assert real.title == "Hugging Face Daily Papers Report" and real.date == "2026-02-10"
    assert len(real.sections) == 34 and all(s.link.startswith("https://huggingface.co/papers/") for s in real.sections)
    for report in manifest.of_kind("daily"):
        doc = read_document(out / report.file, report.file)
        assert (doc.title, doc.date) == (real.title, report.date)
        assert [(s.title, s.link) for s in doc.sections] == [(p.title, p.link) for p in report.papers]
        assert doc.text.count("\n## 📄 ") == len(report.papers)
    docs, problems = load_corpus([out])
    assert problems == [] and len(docs) == len(manifest.reports)


def test_each_paper_says_what_the_manifest_records(digests, generated):
    out, manifest = generated
    for report in manifest.of_kind("daily"):
        for paper, text in zip(report.papers, _papers(out / report.file), strict=True):
            assert [m.group(1) for m in SUBHEADING.finditer(text)] == list(digests.SUBSECTIONS)
            field_line = _subsection(text, "应用领域").strip()
            assert [f for f in digests.FIELDS if f in field_line] == [paper.field], field_line
            guide = _subsection(text, "使用指南")
            assert all(f"**{label}**：" in guide for label in ("输入", "输出", "资源需求", "开源情况"))
            released = guide.split("**开源情况**：")[1].splitlines()[0]
            said = [kind for kind, words in AVAILABILITY_WORDS.items() if re.search(words, released)]
            assert said == [paper.availability], released
            results = _subsection(text, "实验效果").splitlines()
            for f in paper.figures:
                assert any(f.benchmark in line and f.metric in line and f"**{f.value}**" in line for line in results)


def test_generated_and_real_reports_share_sub_section_names(digests, generated):
    out, manifest = generated
    generated_file = out / manifest.of_kind("daily")[0].file
    for path in (REAL, generated_file):
        orders = {tuple(m.group(1) for m in SUBHEADING.finditer(paper)) for paper in _papers(path)}
        assert orders == {digests.SUBSECTIONS}, path.name
        # The chunker sees the same names as headings in both (it labels passages with them).
        seen = {re.sub(r"^\d+\.\s*", "", h) for h in headings(path.read_text(encoding="utf-8"))}
        assert set(digests.SUBSECTIONS) <= seen, path.name


def test_weekly_reports_summarize_papers_of_their_own_week(digests, generated):
    out, manifest = generated
    for report in manifest.of_kind("weekly"):
        first, last = report.covers
        week = [r for r in manifest.of_kind("daily") if first <= r.date <= last]
        of_week = [p for r in week for p in r.papers]
        doc = read_document(out / report.file, report.file)
        assert (doc.title, doc.date) == (f"AI 周报：{first} 至 {last}", report.date)
        assert f"共收录 {len(of_week)} 篇论文" in doc.text
        assert [s.title.split(".")[0] for s in doc.sections] == [str(n) for n in range(1, len(doc.sections) + 1)]
        assert len(doc.sections) >= 3
        summarized = []
        for section in doc.sections:
            field = section.title.split(" ", 1)[1].split("：")[0]
            body = doc.text[section.start : section.end]
            assert f"本周{field}方向共 {sum(p.field == field for p in of_week)} 篇论文" in body
            named = [p for p in of_week if f"**{p.name}**" in body]
            assert named and all(p.field == field for p in named)
            summarized += named
        assert summarized == list(report.papers)


def test_manifest_round_trips_through_its_json_file(digests, generated):
    out, manifest = generated
    text = (out / "manifest.json").read_text(encoding="utf-8")
    assert text == manifest.to_json()
    assert digests.Manifest.from_json(text) == manifest
    with pytest.raises(ValueError, match="version"):
        digests.Manifest.from_json(text.replace('"version": 1', '"version": 0'))


def test_regenerating_removes_its_own_old_files_and_refuses_a_foreign_folder(digests, tmp_path):
    out = tmp_path / "out"
    digests.generate(out, days=21)
    shorter = digests.generate(out, days=7)
    assert sorted(p.name for p in out.iterdir()) == sorted([r.file for r in shorter.reports] + ["manifest.json"])
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.md").write_text("keep me", encoding="utf-8")
    with pytest.raises(ValueError, match="not empty"):
        digests.generate(foreign)
    assert (foreign / "todo.md").read_text(encoding="utf-8") == "keep me"
    with pytest.raises(ValueError, match="got 0"):
        digests.generate(tmp_path / "none", days=0)


def _cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bench.digests", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_cli_prints_one_summary_line_and_one_line_errors(tmp_path):
    run = _cli(str(tmp_path / "out"), "--days", "14", "--seed", "3")
    assert run.returncode == 0, run.stderr
    assert re.fullmatch(r"10 daily \+ 2 weekly reports, \d+ papers, 2026-01-05 to 2026-01-18, in .*\n", run.stdout)
    a_file = tmp_path / "file.md"
    a_file.write_text("x", encoding="utf-8")
    for args, code, said in (
        ([str(a_file)], 1, "is a file"),
        ([str(tmp_path / "new"), "--days", "0"], 1, "days must be between 1 and"),
        ([str(tmp_path / "new"), "--days", "many"], 2, "invalid int value"),
    ):
        run = _cli(*args)
        assert run.returncode == code and run.stdout == ""
        assert said in run.stderr and run.stderr.count("\n") == 1, run.stderr
