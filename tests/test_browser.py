"""The chat page in a real browser (Debian's chromium via Playwright) on the real default models and index."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]  # fmt: skip
ANSWER_TIMEOUT_MS = 240_000
UPLOAD = (
    "# Daily Papers Report\n**Date**: 2026-03-01\n\n"
    "## 📄 ZebraLM: A Striped Language Model\n\n- **链接**: https://example.org/papers/zebralm\n\n"
    "ZebraLM is a 7B-parameter language model that scores 88.4 on the ZooBench benchmark.\n"
    "ZebraLM 是一个 70 亿参数的语言模型，在 ZooBench 基准上得分 88.4。\n"
    "*   **训练数据**：<b>1T tokens</b> of zebra text.\n"
)
# Playwright must drive the system's chromium, never fetch a browser of its own.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium not found: scripts/setup.sh installs it (apt-get install -y chromium)")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """The page on a free port, over an index of the shipped corpus built into a temporary folder."""
    from rag import pipeline
    from rag.build import update_index
    from rag.config import CorpusConfig, IndexConfig, load_config
    from rag.load import load_corpus
    from rag.search import Retriever
    from rag.store import load
    from ui.app import serve

    chromium()  # skip before the models load
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(REPO / "corpus", root / "corpus")
    config = dataclasses.replace(
        load_config(None), corpus=CorpusConfig((str(root / "corpus"),)), index=IndexConfig(str(root / "index"))
    )
    embedder = pipeline.make_embedder(config)
    documents, _ = load_corpus(pipeline.corpus_roots(config))
    update_index(Path(config.index.dir), documents, embedder, config.chunk)
    retriever = Retriever(load(Path(config.index.dir)), embedder, config.search)
    port = free_port()
    assistant = pipeline.open_assistant(config, retriever=retriever)
    app = serve(config, port=port, block=False, assistant=assistant, uploads=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def page(server: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
        )
        page = context.new_page()
        page.goto(server)
        page.wait_for_selector("#question textarea")
        yield page
        browser.close()


def ask(page, question: str) -> str:
    """Types the question, waits for the streamed answer to be replaced by the checked one; returns its text."""
    before = page.locator('#chat [data-testid="bot"]').count()
    page.fill("#question textarea", question)
    page.click("#ask")
    return wait_for_answer(page, before)


def wait_for_answer(page, before: int) -> str:
    """Waits for answer number `before` (from 0) to be checked, no longer streamed; returns its text."""
    bots = page.locator('#chat [data-testid="bot"]')
    page.wait_for_function(
        """(n) => {
            const bots = document.querySelectorAll('#chat [data-testid="bot"]');
            return bots.length > n && !bots[bots.length - 1].innerText.includes('▍');
        }""",
        arg=before,
        timeout=ANSWER_TIMEOUT_MS,
    )
    return bots.nth(before).inner_text().strip()


def open_first_citation(page) -> bool:
    """Clicks the first [n] of the latest answer; checks its passage opens in the sources panel, highlighted."""
    cites = page.locator('#chat [data-testid="bot"]').last.locator("a.rag-cite")
    if cites.count() == 0:
        return False
    target = cites.first.get_attribute("href").removeprefix("#")
    cites.first.click()
    passage = page.locator(f"#sources #{target}")
    passage.wait_for(state="visible")
    assert passage.get_attribute("open") is not None
    assert passage.locator("mark").count() >= 1
    assert page.evaluate(f"document.getElementById('{target}').classList.contains('rag-flash')")
    return True


@pytest.mark.slow
def test_digest_view_lists_an_issue_asks_about_a_paper_and_summarizes_it(page):
    """Defined first, so it runs before the upload test adds a newer issue: "这期日报" is then 2026-02-10."""
    page.wait_for_function(  # the models load in the background, and the page says when they are ready
        "() => document.querySelector('#models').innerText.includes('Models ready')", timeout=ANSWER_TIMEOUT_MS
    )
    page.click("#digests-tab-button")
    page.click("#issue input")
    options = page.get_by_role("option")
    assert "2026-02-10 · 34 papers" in options.first.inner_text()  # newest first (the only issue so far)
    page.get_by_role("option", name="2026-02-10 · 34 papers").click()
    papers = page.locator("#digest li.rag-paper")
    papers.first.wait_for()
    assert papers.count() == 34
    links = page.locator("#digest a.rag-paper-title")
    assert links.count() == 34
    for i in range(34):
        link = links.nth(i)
        assert link.get_attribute("href").startswith("https://huggingface.co/papers/")
        assert (link.get_attribute("target"), link.get_attribute("rel")) == ("_blank", "noopener noreferrer")
    assert page.locator("#digest details.rag-field").count() >= 5  # grouped by field
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "digest-view.png"), full_page=True)

    bots = page.locator('#chat [data-testid="bot"]')
    before = bots.count()
    papers.filter(has_text="MOVA:").locator("button.rag-ask").click()
    answer = wait_for_answer(page, before)
    assert "MOVA" in page.locator('#chat [data-testid="user"]').last.inner_text()
    assert answer and bots.last.locator("a.rag-cite").count() >= 1, answer

    summary = ask(page, "总结一下这期日报")
    listed = [line for line in summary.splitlines() if line.startswith("- ")]
    assert summary.startswith("2026-02-10") and len(listed) >= 30, summary
    assert all(re.search(r"\[\d+\]$", line) for line in listed), summary  # one cited line per paper
    assert bots.last.locator("a.rag-cite").count() == len(listed)
    page.click("#sources-tab-button")
    page.screenshot(path=str(DOCS / "summary-answer.png"))

    typed = '<b>这期日报</b>一共介绍了多少篇论文？<img src="x" onerror="window.ran=1">'
    assert ask(page, typed)
    user = page.locator('#chat [data-testid="user"]').last
    assert typed in user.inner_text()  # shown as typed: tags as text, not as markup
    assert user.locator("b, img").count() == 0 and page.evaluate("window.ran === undefined")
    page.click("#clear")  # the next test starts from an empty chat (it counts the answers before asking)
    page.wait_for_function("() => !document.querySelector('#chat [data-testid=\"bot\"]')")


@pytest.mark.slow
def test_chat_page_answers_cites_and_indexes_uploads(page, tmp_path: Path):
    cited = 0
    for question in (
        "MOVA 使用了多少参数的混合专家架构？",
        "What is NanoQuant and how small does it make a 70B model?",
    ):
        answer = ask(page, question)
        assert answer and "Traceback" not in answer
        sources = page.inner_text("#sources")
        if "don't say" in answer or "没有找到" in answer:
            assert "hf-daily-papers-2026-02-10.md" in sources  # the closest passages are shown
        else:
            cited += open_first_citation(page)
    assert cited >= 1, "neither answer had a citation to open"
    shown = page.locator("#sources .rag-query q")  # the rewritten query, shown only when it differs
    assert shown.count() == 0 or "nanoquant" in shown.inner_text().lower()

    ask(page, "它的参数量是多少？")  # a follow-up: searched for with NanoQuant, the subject of the last turn
    assert "nanoquant" in page.inner_text("#sources .rag-query q").lower()

    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "chat-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 400, "height": 900})
    page.screenshot(path=str(DOCS / "chat-narrow.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    digest = tmp_path / "zebra-2026-03-01.md"
    digest.write_text(UPLOAD, encoding="utf-8")
    rejected = tmp_path / "notes.md"  # passes the page's extension filter, fails the server's checks
    rejected.write_text("  \n", encoding="utf-8")
    page.get_by_text("Index: digests and uploads").click()
    page.locator("#upload input[type=file]").set_input_files([str(digest), str(rejected)])
    page.click("#add")
    page.wait_for_function(
        "() => document.querySelector('#upload-notice').innerText.includes('indexed')", timeout=ANSWER_TIMEOUT_MS
    )
    notice = page.inner_text("#upload-notice")
    assert "zebra-2026-03-01.md" in notice and "notes.md: empty file" in notice
    assert "uploads/zebra-2026-03-01.md" in page.inner_text("#status")

    answer = ask(page, "What does ZebraLM score on ZooBench?")
    assert answer
    assert "uploads/zebra-2026-03-01.md" in page.inner_text("#sources")  # the new digest is searched
    passage = page.locator("#sources .rag-text").filter(has_text="ZooBench").first
    assert passage.locator("b", has_text="训练数据").count() == 1  # its **bold** is shown bold
    shown = passage.inner_text()
    assert "• " in shown and "<b>1T tokens</b>" in shown  # a list mark as a bullet; a tag it wrote, as text


@pytest.mark.slow
def test_stop_ends_an_answer_and_copy_takes_the_next_one(page):
    bots = page.locator('#chat [data-testid="bot"]')
    before = bots.count()
    page.fill("#question textarea", "What does MOVA generate, and is it open source?")
    page.click("#ask")
    page.wait_for_function(  # the answer is streaming
        "(n) => document.querySelectorAll('#chat [data-testid=\"bot\"]').length > n",
        arg=before,
        timeout=ANSWER_TIMEOUT_MS,
    )
    page.click("#stop")
    page.wait_for_timeout(3000)
    stopped = bots.nth(before).inner_text()
    page.wait_for_timeout(3000)
    assert bots.nth(before).inner_text() == stopped  # nothing more arrives once stopped

    answer = ask(page, "How much faster is Aster than existing methods for scientific discovery?")  # not stuck
    assert answer and "Traceback" not in answer
    page.click("#copy")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.strip() and copied.split()[0] in answer and "<" not in copied  # plain text, not HTML
