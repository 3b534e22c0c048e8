from pathlib import Path

from rag.chunk import chunk_document
from rag.config import ChunkConfig
from rag.load import load_corpus, read_document


def test_every_chunk_is_an_exact_slice_of_its_document(corpus: Path):
    for doc in load_corpus([corpus])[0]:
        for chunk in chunk_document(doc, ChunkConfig(size=60, overlap=10)):
            assert doc.text[chunk.start : chunk.end] == chunk.text


def test_chunks_carry_paper_title_link_heading_and_date(corpus: Path):
    doc = read_document(corpus / "daily-2026-01-05.md", "daily-2026-01-05.md")
    chunks = chunk_document(doc, ChunkConfig(size=80, overlap=0))
    result = next(c for c in chunks if "12.5%" in c.text)
    assert result.section == "MathRL: Reinforcement Learning for Math"
    assert result.link == "https://example.org/papers/2"
    assert result.heading == "5. 实验效果"
    assert result.date == "2026-01-05"
    # The paper title is in front of the embedded text, because users name papers.
    assert result.embed_text.startswith("MathRL: Reinforcement Learning for Math")
    assert "**" not in result.embed_text


def test_long_chinese_text_splits_at_sentence_ends():
    from rag.load import parse

    sentence = "模型在长视频生成任务上取得了显著的效果提升。"
    doc = parse(sentence * 40, "zh.txt")
    chunks = chunk_document(doc, ChunkConfig(size=100, overlap=0))
    assert len(chunks) > 5
    assert all(len(c.text) <= 100 for c in chunks)
    assert all(c.text.endswith("。") for c in chunks)


def test_chunk_ids_are_stable_and_unique(corpus: Path):
    doc = read_document(corpus / "daily-2026-01-05.md", "daily-2026-01-05.md")
    first = chunk_document(doc, ChunkConfig(size=80, overlap=20))
    second = chunk_document(doc, ChunkConfig(size=80, overlap=20))
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert len({c.chunk_id for c in first}) == len(first)


def test_shipped_corpus_chunks_fit_the_embedder():
    repo_corpus = Path(__file__).resolve().parent.parent / "corpus"
    config = ChunkConfig()
    for doc in load_corpus([repo_corpus])[0]:
        chunks = chunk_document(doc, config)
        assert chunks
        assert max(len(c.text) for c in chunks) <= config.size
