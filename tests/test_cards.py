"""Paper cards read from a daily report's structure, and questions about a whole report answered from them."""

from __future__ import annotations

from conftest import ScriptedGenerator

from rag import cards, store
from rag.answer import Assistant
from rag.build import update_index
from rag.config import AnswerConfig, ChunkConfig, GenerateConfig
from rag.load import load_corpus
from rag.search import Retriever
from rag.types import Answer, Chunk

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


def test_questions_about_the_reports_are_told_from_questions_about_one_paper_or_the_weekly(corpus, tmp_path, embedder):
    names = bot(corpus, tmp_path, embedder).retriever.paper_names
    assert names == {"vidgen", "mathrl"}
    for question, kind, topic in (
        ("这期日报一共介绍了多少篇论文？", "count", ""),
        ("How many papers are in today's report?", "count", ""),
        ("2月10日的日报有几篇论文", "count", ""),
        ("总结一下这期日报", "summary", ""),
        ("Give me an overview of the latest daily report", "summary", ""),
        ("把这期日报的论文标题都列出来", "list", ""),
        ("这期日报里有多少篇视频生成的论文？", "count", "视频生成"),
        ("How many robotics papers made it into last week's digests?", "count", "robotics"),
        ("上个月机器人方向的论文有哪些？", "list", "机器人"),
        ("Which image generation papers were in the March 16 report?", "list", "image generation"),
        ("What were the main themes in last month's speech and audio papers?", "summary", "speech audio"),
        ("Which of today's papers are about video?", "list", "video"),  # a possessive between "which" and "papers"
        ("How many of last week's papers are about robots?", "count", "robots"),
    ):
        assert cards.asked(question, names) == cards.Asked(kind, topic), question
    for question in (
        "总结一下 VidGen 的贡献",  # one paper: retrieval
        "How many minutes of video does VidGen generate?",
        "周报一共讲了几篇？",  # the weekly has no cards
        "What does the weekly report say about embeddings?",
        "在 GSM8K 上准确率提高了多少？",  # no question about the papers of a report
    ):
        assert cards.asked(question, names) is None, question


def test_dates_are_read_relative_to_the_newest_report():
    newest = "2026-04-03"  # a Friday
    for question, dates in (
        ("这期日报有几篇论文？", ("2026-04-03", "2026-04-03")),
        ("How many papers in the March 3 report?", ("2026-03-03", "2026-03-03")),
        ("3月3日的日报", ("2026-03-03", "2026-03-03")),
        ("2026-02-10 的日报", ("2026-02-10", "2026-02-10")),
        ("this week's papers", ("2026-03-30", "2026-04-05")),
        ("上周的论文", ("2026-03-23", "2026-03-29")),
        ("本月有几篇", ("2026-04-01", "2026-04-30")),
        ("How many last month?", ("2026-03-01", "2026-03-31")),
        ("最近七天的论文", ("2026-03-28", "2026-04-03")),
        ("papers of the past 14 days", ("2026-03-21", "2026-04-03")),
        ("2月份做代码生成的有几篇", ("2026-02-01", "2026-02-28")),
        ("in January", ("2026-01-01", "2026-01-31")),
        ("from 2026-03-02 to 2026-03-06", ("2026-03-02", "2026-03-06")),
        ("3月2日到3月6日之间", ("2026-03-02", "2026-03-06")),
        ("How many papers since 2026-03-01?", ("2026-03-01", "2026-04-03")),
        ("2026-03-20 以来", ("2026-03-20", "2026-04-03")),
        ("papers from the Feb 10 digest", ("2026-02-10", "2026-02-10")),  # "from" one day is not "since"
    ):
        assert cards.asked_range(question, newest) == dates, question


def test_the_scope_is_the_newest_report_unless_dates_are_named(corpus, tmp_path, embedder):
    (corpus / "daily-2026-01-06.md").write_text(SECOND_DAY, encoding="utf-8")
    made = bot(corpus, tmp_path, embedder).retriever.cards
    assert [c.title for c in cards.scope(made, "这期日报有几篇论文？")[0]] == ["RoboArm: Learning to Grasp"]
    assert len(cards.scope(made, "1月5日的日报有几篇论文？")[0]) == 2
    assert len(cards.scope(made, "How many papers this week?")[0]) == 3
    assert cards.scope(made, "2026-03-01 的日报有几篇论文？") == ([], ("2026-03-01", "2026-03-01"))


def test_a_weeklys_sections_are_no_papers(corpus, tmp_path, embedder):
    (corpus / "weekly-2026-01-11.md").write_text(
        "# AI 周报\n**Date**: 2026-01-11\n\n## 1. 多模态：文档解析\n本周三篇工作。\n", encoding="utf-8"
    )
    made = bot(corpus, tmp_path, embedder).retriever.cards
    assert [c.date for c in made] == ["2026-01-05", "2026-01-05"]


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


def test_a_topic_names_its_papers_in_either_language_and_none_is_said_so(corpus, tmp_path, embedder):
    (corpus / "daily-2026-01-06.md").write_text(SECOND_DAY, encoding="utf-8")
    assistant = bot(corpus, tmp_path, embedder, reply="never asked")
    videos = assistant.ask("1月5日的日报里有多少篇视频生成的论文？")
    assert videos.text.startswith("2026-01-05 的日报中与“视频生成”相关的论文有 1 篇")
    assert [c.chunk.section for c in videos.citations] == ["VidGen: Long Video Generation"]
    robots = assistant.ask("本周有哪些机器人方向的论文？")  # 机器人 in the field (the other language: test_answer_real)
    assert [c.chunk.section for c in robots.citations] == ["RoboArm: Learning to Grasp"]
    none = assistant.ask("1月6日的日报里有几篇视频生成的论文？")  # a topic of another day's report
    assert not none.answerable and not none.citations
    assert none.text == "2026-01-06 的日报共 1 篇论文，其中没有与“视频生成”相关的论文（按标题、领域和核心贡献）。"
    words = assistant.ask("How many papers did we get today, so far?")  # words no paper knows: no topic
    assert words.text.startswith("The daily report of 2026-01-06 covers 1 paper:")
    missing = assistant.ask("How many papers were in the 2026-03-01 report?")
    assert not missing.answerable and missing.text == "The index holds no daily report of 2026-03-01."


def test_a_summary_groups_the_papers_by_field(corpus, tmp_path, embedder):
    (corpus / "daily-2026-01-06.md").write_text(SECOND_DAY, encoding="utf-8")
    summary = bot(corpus, tmp_path, embedder).ask("总结一下本周的日报")
    lines = summary.text.split("\n")
    assert lines[0] == "2026-01-05 至 2026-01-11 的日报共介绍了 3 篇论文，按领域："
    assert "视频生成（1）：" in lines and "机器人（1）：" in lines and "其他（1）：" in lines
    assert [int(line[-2]) for line in lines if line.startswith("- ")] == [1, 2, 3]  # numbered in the order shown


def test_what_a_section_says_of_code_and_weights():
    def said(*lines: str) -> str:
        return cards.release([Chunk("c", "d.md", 0, 1, "\n".join(lines), "t")])[0]

    assert said("*   **开源情况**：代码与模型权重已在 GitHub 开源（https://github.com/org/x）。") == "released"
    assert said("*   **代码**：提供开源代码，基于 JAX 构建。") == "released"
    assert said("*   **开源情况**：作者承诺在论文录用后开源代码和模型权重。") == "promised"
    assert said("*   **开源状态**：论文提到计划在不久的将来公开发布代码。") == "promised"
    assert said("*   **注意**：摘要未明确提及代码是否已开源，需关注后续发布情况。") == "none"  # says it does not tell
    assert said("*   **权重共享的循环架构**：迫使模型学会迭代优化动作计划。") == "none"  # weights, but not released
    assert said("作者承诺开源数据集。", "代码已开源 (https://github.com/a/b)。") == "released"  # out wins


def test_which_papers_released_code_or_only_promise_it(corpus, tmp_path, embedder):
    (corpus / "daily-2026-01-06.md").write_text(
        SECOND_DAY.replace("\n\n2.", "\n\n- **开源情况**：代码已开源（https://github.com/a/roboarm）。\n\n2."),
        encoding="utf-8",
    )
    assistant = bot(corpus, tmp_path, embedder, reply="never asked")
    asked = cards.asked("本周哪些论文已经开源了代码？", assistant.retriever.paper_names)
    assert asked == cards.Asked("list", "", "released")
    assert cards.asked("Which papers only promise to release code later?", set()) == cards.Asked("list", "", "promised")
    out = assistant.ask("本周哪些论文已经开源了代码？")
    assert out.text.startswith("2026-01-05 至 2026-01-11 的日报中已开源代码或模型的论文有 1 篇")
    assert [c.quote for c in out.citations] == ["- **开源情况**：代码已开源（https://github.com/a/roboarm）。"]
    assert cards.asked("代码生成方向有哪些论文？", set()) == cards.Asked("list", "代码生成")  # a topic, not code


def test_a_document_whose_structure_cannot_be_read_is_searched_as_text_with_one_warning(
    corpus, tmp_path, embedder, caplog
):
    (corpus / "undated.md").write_text(SECOND_DAY.replace("**Date**: 2026-01-06\n", ""), encoding="utf-8")
    (corpus / "daily-2026-01-07.md").write_text(
        "# Daily Papers Report\n**Date**: 2026-01-07\n\n## 📄 Loose: Just a Heading\n\nSome words, no fields.\n",
        encoding="utf-8",
    )
    assistant = bot(corpus, tmp_path, embedder)
    with caplog.at_level("WARNING", logger="rag.cards"):
        made = assistant.retriever.cards
    assert {c.doc_id for c in made} == {"daily-2026-01-05.md"}
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and all("\n" not in w and "searched as text" in w for w in warnings)
    assert any(w.startswith("undated.md: paper sections but no day's date") for w in warnings)
    hits = assistant.retriever.search("Loose: Just a Heading", 3)  # still in the index
    assert any(h.chunk.doc_id == "daily-2026-01-07.md" for h in hits)


def test_a_topic_matches_the_english_stems_of_the_papers_words(embedder):
    def card(title: str, field: str) -> cards.Card:
        return cards.Card(title, "d.md", "2026-01-05", "", field, "", Chunk(title, "d.md", 0, 1, "x", "t"))

    made = [card("TinyQ: Post-Training Quantization of LLMs", "LLM 量化"), card("ChatLM: Dialog LLMs", "对话")]
    topics = cards.Topics(made, embedder.embed_queries)
    assert [c.title for c in topics.match("quantizing llms", made)] == ["TinyQ: Post-Training Quantization of LLMs"]
    assert cards.Topics(made, embedder.embed_queries).terms("quantizing") == ["quantizing", "quantization"]
