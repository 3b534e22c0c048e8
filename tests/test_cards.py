"""Paper cards read from a daily report's structure, and questions about a whole report answered from them."""

from __future__ import annotations

from conftest import ScriptedGenerator

from rag import cards, store
from rag.answer import Assistant
from rag.build import update_index
from rag.config import AnswerConfig, ChunkConfig, GenerateConfig
from rag.load import load_corpus
from rag.search import Retriever
from rag.types import Answer

SECOND_DAY = (
    "# Daily Papers Report\n**Date**: 2026-01-06\n\n"
    "## 📄 RoboArm: Learning to Grasp\n\n- **链接**: https://example.org/papers/3\n\n"
    "1. **应用领域**：机器人。\n\n2. **一句话核心贡献**：提出 RoboArm，抓取成功率 90%。\n"
)


def bot(corpus, tmp_path, embedder, reply="模型的回答 [1]。") -> Assistant:
    update_index(tmp_path / "index", load_corpus([corpus])[0], embedder, ChunkConfig(size=200, overlap=0))
    retriever = Retriever(store.load(tmp_path / "index"), embedder)
    return Assistant(retriever, ScriptedGenerator(lambda m: reply), GenerateConfig(), AnswerConfig(similarity=1.01))


def test_a_card_per_paper_with_its_field_contribution_link_and_date(corpus, tmp_path, embedder):
    made = bot(corpus, tmp_path, embedder).retriever.cards
    assert [c.title for c in made] == ["VidGen: Long Video Generation", "MathRL: Reinforcement Learning for Math"]
    vid = made[0]
    assert vid.field == "视频生成。" and vid.contribution == "提出 VidGen，生成长达 10 分钟的视频。"
    assert vid.link == "https://example.org/papers/1" and vid.date == "2026-01-05"
    assert made[1].field == "" and made[1].contribution == ""  # a paper without those lines still counts


def test_questions_about_a_whole_report_are_routed_and_topics_are_not(corpus, tmp_path, embedder):
    topics = bot(corpus, tmp_path, embedder).retriever.topics
    assert {"vidgen", "视频", "生成"} <= topics
    for question in (
        "这期日报一共介绍了多少篇论文？",
        "How many papers are in today's report?",
        "2月10日的日报有几篇论文",
    ):
        assert cards.route(question, topics) == "count", question
    for question in ("总结一下这期日报", "Give me an overview of the latest daily report", "tl;dr of today's papers"):
        assert cards.route(question, topics) == "summary", question
    for question in (
        "这期日报里有多少篇视频生成的论文？",  # a topic the papers' titles or fields name: retrieval
        "How many papers on video generation today?",
        "总结一下 VidGen 的贡献",  # one paper
        "How many minutes of video does VidGen generate?",  # no count of papers
        "周报一共讲了几篇？",  # the weekly has no cards
        "What does the weekly report say about embeddings?",
    ):
        assert cards.route(question, topics) == "", question


def test_this_issue_is_the_newest_report_unless_a_date_is_named(corpus, tmp_path, embedder):
    (corpus / "daily-2026-01-06.md").write_text(SECOND_DAY, encoding="utf-8")
    made = bot(corpus, tmp_path, embedder).retriever.cards
    assert [c.title for c in cards.report(made, "这期日报有几篇论文？")] == ["RoboArm: Learning to Grasp"]
    assert len(cards.report(made, "1月5日的日报有几篇论文？")) == 2
    assert len(cards.report(made, "How many papers in the Jan 5 report?")) == 2
    assert cards.report(made, "2026-03-01 的日报有几篇论文？") == []  # no such report: retrieval answers


def test_a_count_is_exact_and_cites_every_paper_without_generating(corpus, tmp_path, embedder):
    assistant = bot(corpus, tmp_path, embedder, reply="never asked")
    events = list(assistant.stream("这期日报一共介绍了多少篇论文？"))
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.answerable and events[0] == answer.text
    assert answer.text.startswith("2026-01-05 的日报共介绍了 2 篇论文")
    assert [c.n for c in answer.citations] == [1, 2] and f"[{len(answer.citations)}]" in answer.text
    assert "VidGen: Long Video Generation [1]" in answer.text
    assert answer.citations[0].quote == "提出 VidGen，生成长达 10 分钟的视频。"
    assert answer.citations[1].quote == "## 📄 MathRL: Reinforcement Learning for Math"  # none: the first line


def test_a_summary_gives_each_papers_contribution_and_other_questions_go_to_retrieval(corpus, tmp_path, embedder):
    assistant = bot(corpus, tmp_path, embedder)
    summary = assistant.ask("Summarize today's daily report")
    assert summary.text.startswith("The daily report of 2026-01-05 covers 2 papers")
    assert "- VidGen: Long Video Generation: 提出 VidGen，生成长达 10 分钟的视频。 [1]" in summary.text
    ordinary = assistant.ask("VidGen 能生成多长的视频？")
    assert ordinary.text != summary.text and "覆盖" not in ordinary.text
