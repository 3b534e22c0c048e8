"""Citation checking: good markers stay, wrong ones are re-pointed or dropped, and the span finds the words."""

from __future__ import annotations

from rag import cite
from rag.cite import check, markers, sentences, support

PASSAGES = [
    "MOVA 是一个开源的音视频联合生成模型。它的参数量为 32B，可以同时生成视频和语音。",
    "Aster is an agent for autonomous scientific discovery. It is more than 20 times faster than prior work.",
]


def test_a_good_marker_stays_and_points_at_the_supporting_sentence():
    checked = check("Aster is more than 20 times faster than prior work [2].", PASSAGES, 0.5)
    assert checked.text == "Aster is more than 20 times faster than prior work [2]."
    assert checked.repaired == 0 and checked.unsupported == ()
    ((n, start, end),) = checked.cited
    assert n == 2 and PASSAGES[1][start:end] == "It is more than 20 times faster than prior work."


def test_an_out_of_range_marker_is_repointed_to_the_passage_that_supports_it():
    checked = check("MOVA 的参数量为 32B[7]。", PASSAGES, 0.5)
    assert checked.text == "MOVA 的参数量为 32B [1]。"
    assert checked.repaired == 1 and [n for n, _, _ in checked.cited] == [1]
    _, start, end = checked.cited[0]
    assert "32B" in PASSAGES[0][start:end]


def test_a_marker_on_the_wrong_passage_is_repointed():
    checked = check("MOVA 是开源的音视频生成模型 [2]。", PASSAGES, 0.5)
    assert checked.text == "MOVA 是开源的音视频生成模型[1]。"


def test_an_unsupported_sentence_loses_its_marker_and_is_reported():
    checked = check("Aster is 20 times faster [2]. It was released in 1999 [1].", PASSAGES, 0.5)
    assert checked.text == "Aster is 20 times faster [2]. It was released in 1999."
    assert checked.unsupported == ("It was released in 1999.",)
    assert checked.sentences == 2


def test_a_number_missing_from_the_passage_is_not_supported():
    # Every word is in the passage, but the figure is not: a changed number must not pass as cited.
    assert support("MOVA 的参数量为 70B。", PASSAGES[0]) == 0.0
    assert support("MOVA 的参数量为 32B。", PASSAGES[0]) >= 0.5


def test_an_ocr_spaced_decimal_is_one_figure_and_a_mixed_up_one_is_not_supported():
    # OCR writes "70. 58" for 70.58; taking it as 70 and 58 let a reply join the halves of two figures.
    ocr = "Model-X 在 MTEB 上 70. 58 分，代码检索 80. 68 分。"
    assert cite.figures(ocr) == ["70.58", "80.68"]
    assert cite.numbers_match("Model-X scores 70.58 on MTEB.", ocr)
    assert cite.numbers_match("Model-X scores 70. 58 on MTEB.", ocr)
    assert not cite.numbers_match("Model-X scores 70. 68 on code retrieval.", ocr)


def test_dates_and_list_numbers_are_not_figures_a_sentence_can_borrow():
    passage = "[1] MOVA, 2026-02-10\n### 5. 实验效果\n1. **应用领域**：视频生成。\n它的参数量为 32B。"
    assert support("MOVA 有 10 个专家 [1]。", passage) == 0.0  # "10" only in the date
    assert support("MOVA 用了 1 个模型 [1]。", passage) == 0.0  # "1" only as a list number
    assert support("MOVA 的参数量为 32B [1]。", passage) > 0.5
    assert support("MOVA 发布于 2026-02-10 [1]。", passage) > 0.5


def test_a_figure_in_another_unit_is_not_supported():
    passage = "SoulX-Singer 基于 42,000 小时多语言数据训练，用 8 H100 训练。"
    assert support("The SoulX-Singer model has 42,000 parameters.", passage) == 0.0  # hours, not parameters
    assert support("SoulX-Singer 有 42,000 个参数。", passage) == 0.0
    assert support("SoulX-Singer was trained on 42,000 hours of data.", passage) > 0.5  # across languages
    assert support("SoulX-Singer was trained on a 42,000-hour dataset.", passage) > 0.5
    assert support("SoulX-Singer used 42,000.", passage) > 0.5  # no unit said: nothing to compare
    assert cite.numbers_match("SoulX-Singer was trained on 8 GPUs.", passage)  # "H100" is a name, not a unit


def test_a_figure_labelled_with_another_metric_is_not_supported():
    passage = "SoulX-Singer 的普通话 SIM 达到 **0.922**。\n在发音错误率（WER）指标上达到最佳水平。"
    assert support("SoulX-Singer achieves a **WER** of **0.922**.", passage) == 0.0  # 0.922 is the SIM
    assert support("SoulX-Singer 的 SIM 达到 0.922。", passage) > 0.5
    assert support("SoulX-Singer reaches 0.922 in SIM.", passage) > 0  # no label just before the figure
    # A metric spelled out is the same metric, in either language.
    assert support("SoulX-Singer achieves a word error rate of 0.922.", passage) == 0.0
    assert support("SoulX-Singer 的词错误率为 0.922。", passage) == 0.0
    assert support("SoulX-Singer has a similarity of 0.922.", passage) > 0.5
    assert support("SoulX-Singer 的相似度达到 0.922。", passage) > 0.5
    speed = "NanoQuant 在单卡上的吞吐量达到 20.11 tokens/s。"
    assert not cite.labels_match("Its perplexity reaches 20.11 tokens/s.", speed)
    assert cite.labels_match("Its throughput reaches 20.11 tokens/s.", speed)
    table = "MMTEB 70.58 69.45\nMTEB (en v2) 75.22 74.60"  # OCR'd table rows: one line each
    assert cite.labels_match("MTEB (en v2) 75.22", table) and not cite.labels_match("MMTEB 75.22", table)


def test_a_bare_figure_is_a_claim_and_a_list_number_is_not():
    passage = "GISA 基准测试通过 373 个正向人工构建的真实查询评估智能体。"
    checked = check("[1] 373", [passage], 0.5)  # the whole reply to "how many ...?"
    assert (checked.sentences, checked.unsupported, checked.text) == (1, (), "373 [1]")
    assert check("1. GISA 用 373 个查询 [1]。\n2.", [passage], 0.5).sentences == 1


def test_restating_the_question_does_not_count_as_support():
    # The made-up part ("a permissive license") is what must be backed, not the question's words around it.
    sentence = "Aster, an agent for autonomous scientific discovery, is released under a permissive license [2]."
    assert check(sentence, PASSAGES, 0.5).unsupported == ()  # the question's words carry it
    question = "Under which license is Aster, the agent for autonomous scientific discovery, released?"
    assert check(sentence, PASSAGES, 0.5, question=question).unsupported == (cite.strip_markers(sentence).strip(),)


def test_an_acronyms_plural_names_the_acronym():
    passage = "硬件需求：论文中训练使用了 64 张 NVIDIA A100 80G GPU。"
    assert cite.names_match("Demo-ICL was trained on 64 GPUs.", passage, frozenset({"demo-icl", "icl"}))
    assert not cite.names_match("Demo-ICL was trained on 64 TPUs.", passage, frozenset({"demo-icl", "icl"}))
    assert not cite.names_match("It beats 3 LLMs.", passage)  # no LLM in the passage


def test_a_name_missing_from_the_passage_is_not_supported_even_when_the_embedder_finds_it_close():
    sentence = "Aster is released under the MIT license [2]."
    assert support(sentence, PASSAGES[1]) == 0.0
    close = check(sentence, PASSAGES, 0.5, lambda s, p: [0.99] * len(p), 0.8)  # across languages, say
    assert close.unsupported == ("Aster is released under the MIT license.",)
    # Names the question holds may be spelled otherwise in the passage; names inside Chinese text count.
    assert support("Aster 的 MIT 许可", PASSAGES[1], frozenset({"mit"})) > 0
    assert support("它用HPSv3打分。", "用 HPSv3 给画面打分") > 0
    assert support("它用ImageReward打分。", "用 HPSv3 给画面打分") == 0
    assert support("The Index on a Mac is higher.", "The index on a mac is higher.") == 1.0  # words, not names


def test_a_sentence_without_marker_gets_one():
    checked = check("Aster is an agent for autonomous scientific discovery.", PASSAGES, 0.5)
    assert checked.text == "Aster is an agent for autonomous scientific discovery [2]."


def test_sentences_keep_decimals_and_trailing_markers_whole():
    text = "Accuracy rose by 12.5% on GSM8K. [1][2] 第二句。第三句"
    parts = [text[s:e].strip() for s, e in sentences(text)]
    assert parts == ["Accuracy rose by 12.5% on GSM8K. [1][2]", "第二句。", "第三句"]
    ocr = "MMTEB 70. 58 and 69. 45 on average. It has 8 layers. Next"  # OCR spaces decimal points out
    assert [ocr[s:e].strip() for s, e in sentences(ocr)] == [
        "MMTEB 70. 58 and 69. 45 on average.",
        "It has 8 layers.",
        "Next",
    ]
    assert markers("x [1, 2]【3】") == [1, 2, 3]


def test_a_soft_wrapped_english_line_is_one_sentence_other_line_breaks_end_one():
    def split(text):
        return [text[s:e].strip() for s, e in sentences(text)]

    ocr = "Middle: ProRL leads to novel solutions reflected by higher Creativity\nIndex [12]. Right: ours"
    assert split(ocr) == [
        "Middle: ProRL leads to novel solutions reflected by higher Creativity\nIndex [12].",
        "Right: ours",
    ]
    assert split("- **链接**: https://x.org/1\n- **来源**: HTML") == ["- **链接**: https://x.org/1", "- **来源**: HTML"]
    assert split("应用领域\n语音合成") == ["应用领域", "语音合成"]
    assert split("MTEB (en v2) 75.22 74.60\nMTEB (zh) 70.1") == ["MTEB (en v2) 75.22 74.60", "MTEB (zh) 70.1"]
    assert split("a reply\n\nThe closest passage says") == ["a reply", "The closest passage says"]
