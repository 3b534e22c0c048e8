from rag import store
from rag.build import update_index
from rag.config import ChunkConfig, RerankConfig, SearchConfig
from rag.load import load_corpus
from rag.search import Retriever


class KeywordJudge:
    """A fake reranker: P(yes) is high for passages holding a chosen word."""

    id = "keyword-judge"

    def __init__(self, word: str):
        self.word = word
        self.calls: list[int] = []

    def score(self, query: str, passages: list[str]) -> list[float]:
        self.calls.append(len(passages))
        return [0.9 if self.word in p else 0.1 for p in passages]


def retriever(corpus, tmp_path, embedder, **kwargs) -> Retriever:
    update_index(tmp_path / "index", load_corpus([corpus])[0], embedder, ChunkConfig(size=120, overlap=0))
    return Retriever(store.load(tmp_path / "index"), embedder, **kwargs)


def test_reranker_decides_the_order_of_its_candidates(corpus, tmp_path, embedder):
    judge = KeywordJudge("MMTEB")
    config = RerankConfig(candidates=50, weight=1.0)
    search = retriever(corpus, tmp_path, embedder, reranker=judge, rerank_config=config)
    stages = search.stages(["视频生成"])[0]
    assert "MMTEB" not in search.index.chunks[stages.fused[0][0]].embed_text
    assert "MMTEB" in search.index.chunks[stages.reranked[0][0]].embed_text
    scores = [s for _, s in stages.reranked]
    assert scores == sorted(scores, reverse=True)


def test_only_the_top_candidates_are_judged(corpus, tmp_path, embedder):
    judge = KeywordJudge("MMTEB")
    search = retriever(corpus, tmp_path, embedder, reranker=judge, rerank_config=RerankConfig(candidates=2, weight=1.0))
    stages = search.stages(["视频生成"])[0]
    assert judge.calls == [2]
    assert sorted(r for r, _ in stages.reranked[:2]) == sorted(r for r, _ in stages.fused[:2])
    assert [r for r, _ in stages.reranked[2:]] == [r for r, _ in stages.fused[2:]]
    assert stages.reranked[2][1] < stages.reranked[1][1]


def test_no_reranker_means_fused_order(corpus, tmp_path, embedder):
    search = retriever(corpus, tmp_path, embedder)
    stages = search.stages(["GSM8K 准确率"])[0]
    assert stages.reranked == [] and stages.final() == stages.fused
    assert [h.chunk.chunk_id for h in search.search("GSM8K 准确率", 2)] == [
        search.index.chunks[row].chunk_id for row, _ in stages.fused[:2]
    ]


def test_modes(corpus, tmp_path, embedder):
    dense = retriever(corpus, tmp_path, embedder, config=SearchConfig(mode="dense")).stages(["qwen3 mmteb"])[0]
    assert dense.keyword == [] and dense.fused == dense.dense
    search = Retriever(store.load(tmp_path / "index"), embedder, config=SearchConfig(mode="keyword"))
    keyword = search.stages(["qwen3 mmteb"])[0]
    assert keyword.dense == [] and keyword.fused == keyword.keyword
    assert "70.58" in search.index.chunks[keyword.fused[0][0]].text


def test_a_question_naming_one_kind_of_digest_searches_only_those_documents(corpus, tmp_path, embedder):
    search = retriever(corpus, tmp_path, embedder)

    def documents(question: str) -> set[str]:
        return {search.index.chunks[row].doc_id for row, _ in search.stages([question])[0].fused}

    assert search.index.chunks[search.stages(["Qwen3 MMTEB"])[0].fused[0][0]].doc_id == "weekly-2025-06.txt"
    assert documents("日报里 Qwen3 MMTEB 的得分？") == {"daily-2026-01-05.md"}
    assert documents("What does the weekly report say about GSM8K?") == {"weekly-2025-06.txt"}
    assert len(documents("Besides the weekly report, which daily-report paper uses GSM8K?")) == 2  # both named
    assert len(documents("Which papers use GSM8K?")) == 2
    monthly = SearchConfig(kinds=("monthly: monthly report",))  # no document of that kind: search them all
    assert len({h.chunk.doc_id for h in Retriever(search.index, embedder, monthly).search("monthly report", 9)}) == 2
