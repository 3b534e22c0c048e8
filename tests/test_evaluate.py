import math

import pytest

from rag.errors import InputError
from rag.evaluate import (
    Question,
    first_hit_rank,
    ndcg,
    normalize_text,
    percentiles,
    read_jsonl,
    score,
    score_answers,
)
from rag.types import Answer, Chunk, Citation


def test_normalization_collapses_whitespace_and_drops_markdown():
    assert normalize_text("提高了 **10.10**\n  分 `Qwen3`") == "提高了 10.10 分 qwen3"


def test_first_hit_rank_needs_every_evidence_string():
    passages = ["alpha beta", "gamma", "delta **Epsilon**"]
    assert first_hit_rank(["beta"], passages) == 1
    assert first_hit_rank(["epsilon"], passages) == 3
    assert first_hit_rank(["beta", "gamma"], passages) == 2  # spread over two passages: covered at rank 2
    assert first_hit_rank(["zeta"], passages) is None
    assert first_hit_rank([], passages) is None


def test_ndcg_by_hand():
    passages = ["x", "has ev", "y", "has ev too"]
    # Relevant at ranks 2 and 4; two relevant chunks exist in the index.
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg(["ev"], passages, relevant_total=2) == pytest.approx(expected)
    assert ndcg(["ev"], ["has ev"], relevant_total=1) == 1.0
    assert ndcg(["ev"], ["x"], relevant_total=0) == 0.0


def test_score_groups_and_skips_unanswerable():
    gold = [
        Question("1", "q1", ("a",), lang="zh", kind="fact"),
        Question("2", "q2", ("b",), lang="en", kind="fact"),
        Question("3", "q3", (), answerable=False, kind="unanswerable"),
    ]
    rankings = [["a"], ["x", "y", "b"], ["a"]]
    metrics, ranks = score(gold, rankings, {"1": 1, "2": 1}, ks=(1, 3))
    assert metrics["all"]["n"] == 2
    assert metrics["all"]["hit@1"] == 0.5 and metrics["all"]["hit@3"] == 1.0
    assert metrics["all"]["mrr@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert metrics["lang=en"]["mrr@10"] == pytest.approx(1 / 3)
    assert "kind=unanswerable" not in metrics
    assert [(q.id, r) for q, r in ranks] == [("1", 1), ("2", 3)]


def test_mrr_counts_only_the_top_10():
    gold = [Question("1", "q", ("z",))]
    metrics, _ = score(gold, [["x"] * 10 + ["z"]], {"1": 1})
    assert metrics["all"]["mrr@10"] == 0.0


def test_percentiles_nearest_rank():
    assert percentiles(list(range(1, 101))) == {"p50": 50, "p95": 95, "n": 100}


def test_read_jsonl_names_the_bad_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "ok"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"q.jsonl:2: expected an object"):
        read_jsonl(path)
    path.write_text('{"question": "ok"}\n', encoding="utf-8")
    assert read_jsonl(path) == [{"question": "ok", "id": "1"}]


def test_list_questions_count_items_named_as_whole_words_and_other_papers_cited():
    def cite(n, section):
        return Citation(n, Chunk(f"c{n}", "daily", 0, 4, "text", "Daily", section), 0, 4)

    items = (("ECO",), ("LIFT", "Towards Bridging the Gap"))
    lists = Question("l1", "Which papers are about humanoid control?", items=items)
    plain = Question("q1", "What does VidGen make?", evidence=("text",), answers=("video",))
    text = "- MotionCrafter: Dense 4D Reconstruction [1]\n- Towards Bridging the Gap [2]"  # "ECO" only inside a word
    answers = [
        Answer(
            lists.question,
            text,
            True,
            (cite(1, "MotionCrafter: Dense 4D Reconstruction"), cite(2, "Towards Bridging the Gap")),
        ),
        Answer(plain.question, "VidGen makes video [1].", True, (cite(1, "VidGen"),), sentences=1),
    ]
    figures, rows = score_answers([lists, plain], answers)
    assert rows[0] == {"id": "l1", "items": 2, "named": 1, "extra": 1, "declined": False}
    assert figures["lists"] == 1 and figures["list_items_named"] == 0.5 and figures["list_extra_cited"] == 1.0
    assert figures["answerable"] == 1 and figures["answer_hit"] == 1.0  # the list question is scored apart


def test_answers_in_the_question_language_are_counted_on_the_reply_without_its_quote():
    title = "X: A Model for Everything"
    cited = (Citation(1, Chunk("c1", "daily", 0, 4, "text", "Daily", title), 0, 4),)

    def answer(question: str, reply: str, lang: str, quote: str = "", citations: tuple = ()) -> Answer:
        text = f"{reply}\n\n{quote}" if quote else reply
        return Answer(question, text, True, citations, sentences=1, lang=lang, reply=reply, quote=quote)

    answers = [
        answer("MOVA 有多少参数？", "MOVA 有 32B 参数[1]。", "zh"),
        answer("How many GPUs?", "64 张 NVIDIA A100 80G GPU [1]", "en"),  # a Chinese word
        answer("What is X?", "X is a model [1].", "en", "The closest passage says: “X 是一个模型。”[1]"),
        answer("哪篇论文？", f"{title}, 2026-02-10 [1]", "zh", "最相关的原文：“X 是一个模型。”[1]", cited),
        answer("有多少条？", "373 [1]", "zh"),  # a figure, or a name, is in either language
        answer("X 是什么？", "X is a model for everything [1].", "zh"),
        Answer("Y 是什么？", "日报和周报里都没有找到这个问题的答案。", False, lang="zh"),  # declined: not counted
    ]
    asked = [Question(f"q{i}", a.question, answers=("x",)) for i, a in enumerate(answers)]
    figures, rows = score_answers(asked, answers)
    assert [r["in_language"] for r in rows] == [True, False, True, True, True, False, False]
    assert figures["answered"] == 6 and figures["in_language"] == 4 / 6
