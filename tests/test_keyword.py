import numpy as np

from rag.fuse import min_max, rerank, rrf, weighted
from rag.keyword import KeywordIndex, name_terms, tokenize


def test_names_and_figures_stay_findable():
    tokens = tokenize("Qwen3-8B 在 GSM8K 上提高了 12.5%，占 3/4，A100 80G。")
    for token in ("qwen3-8b", "qwen3", "8b", "gsm8k", "12.5%", "3/4", "a100", "80g"):
        assert token in tokens, token


def test_case_and_width_fold():
    assert tokenize("ＱＷＥＮ３") == tokenize("qwen3") == ["qwen3"]


def test_chinese_words_and_bigrams_without_function_words():
    tokens = tokenize("视频生成的模型")
    assert "视频" in tokens and "生成" in tokens
    assert "频生" in tokens  # bigrams catch words jieba splits differently
    assert "成的" not in tokens and "的模" not in tokens and "的" not in tokens


def test_english_plural_and_stopwords():
    assert tokenize("What are the embeddings of Qwen3?") == ["embedding", "qwen3"]
    assert tokenize("loss") == ["loss"]


def test_bm25_finds_the_passage_by_name_and_by_chinese_paraphrase():
    index = KeywordIndex.build(
        ["MOVA 同时生成视频和音频。", "Qwen3-Embedding-8B 在 MMTEB 上得分 70.58。", "机器人步态学习需要真实世界数据。"]
    )
    assert index.search("qwen3-embedding-8b MMTEB score", 3)[0][0] == 1
    assert index.search("哪篇论文能同时生成视频与音频？", 3)[0][0] == 0
    assert index.search("the", 3) == []
    assert index.size == 3


def test_name_terms_are_latin_words_and_the_pinyin_of_chinese_words():
    question = "快手 AutoThink 用什么提示？"
    assert name_terms(question, tokenize(question)) == ["autothink", "kuaishou", "tishi"]
    assert name_terms("What is MOVA?", tokenize("What is MOVA?")) == tokenize("What is MOVA?") == ["mova"]


def test_a_rare_name_finds_a_garbled_ocr_page_that_shares_no_chinese():
    pages = [
        "AutoThink ¥AZ S R A TMAET RER Ellipsis Prompt K (MNP Rl %)",  # OCR: only the names survived
        "HR#E: yanjiusuo@cnpsec.com ik SERWHREXEIHESRTHRKE 175",
        # Pages that share many common words with the questions, but not their names.
        "思考模型在交互中减少了思考，思考的副作用与提示方式有关。",
        "两种模式：思考模式和不思考模式，由提示触发。",
        "模型的提示手段决定了思考的长度。",
        "研究报告的联系方式见文末，研究团队的邮箱已公开。",
    ]
    index = KeywordIndex.build(pages)
    question = "快手 AutoThink 模型靠什么提示手段来触发思考和不思考两种模式？"
    assert index.search(question, 6)[0][0] == 0
    assert index.search("研究所的联系邮箱是什么？", 6)[0][0] == 1  # the pinyin of 研究所 is in the address


def test_bm25_scores_are_lucene_bm25_as_bm25s_computes_them(corpus):
    import bm25s

    texts = [p.read_text(encoding="utf-8") for p in sorted(corpus.iterdir())]
    texts = [t[i : i + 300] for t in texts for i in range(0, len(t), 300)]
    ours = KeywordIndex.build(texts)
    reference = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    reference.index([tokenize(t) for t in texts], show_progress=False)
    for question in ("GSM8K 准确率 提高", "视频生成 video generation", "math math reinforcement", "qwen3-8b"):
        terms = [t for t in tokenize(question) if t in reference.vocab_dict]
        assert terms, question
        expected = reference.get_scores(terms)
        got = np.zeros(len(texts))
        for row, score in ours._bm25(terms, len(texts)):
            got[row] = score
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_keyword_index_round_trip(tmp_path):
    index = KeywordIndex.build(["alpha beta", "gamma 视频"])
    index.save(tmp_path / "bm25")
    loaded = KeywordIndex.load(tmp_path / "bm25")
    assert loaded.search("视频 gamma", 2) == index.search("视频 gamma", 2)


def test_rrf_rewards_agreement():
    fused = rrf([[(1, 9.0), (2, 8.0)], [(2, 0.9), (3, 0.8)]], k=60)
    assert [row for row, _ in fused] == [2, 1, 3]
    assert fused[0][1] == 1 / 62 + 1 / 61


def test_rrf_weights_tilt_the_order():
    fused = rrf([[(1, 1.0)], [(2, 1.0)]], k=60, weights=[0.5, 1.5])
    assert [row for row, _ in fused] == [2, 1]


def test_weighted_fusion_uses_normalized_scores():
    assert min_max([(1, 10.0), (2, 5.0), (3, 0.0)]) == {1: 1.0, 2: 0.5, 3: 0.0}
    fused = weighted([[(1, 0.9), (2, 0.1)], [(2, 30.0), (3, 10.0)]], [0.3, 0.7])
    assert [row for row, _ in fused] == [2, 1, 3]
    assert fused[0][1] == 0.7


def test_rerank_scales_a_narrow_judge_before_mixing():
    head = [(1, 0.9), (2, 0.5), (3, 0.1)]
    # P(yes) spans 0.50..0.53 only; scaled over the head it still outweighs the first stage at weight 0.7.
    assert [row for row, _ in rerank(head, [0.50, 0.51, 0.53], 0.7)] == [3, 2, 1]
    assert [row for row, _ in rerank(head, [0.50, 0.51, 0.53], 0.0)] == [1, 2, 3]
