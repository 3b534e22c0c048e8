"""The one embedding code path, proven on a tiny random-weight Qwen3 model built here (no hub needed)."""

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rag.config import Config, EmbedConfig
from rag.embed import SentenceTransformerEmbedder
from rag.errors import ConfigError, ModelFileError
from tests.conftest import save_tiny_embedder

QWEN_PROMPT = "Instruct: Given a question, retrieve passages that answer it\nQuery:"


@pytest.fixture(scope="module")
def tiny_qwen3(tmp_path_factory) -> Path:
    words = "instruct given a question retrieve passages that answer it query : video generation 视 频 生 成 model"
    return save_tiny_embedder(tmp_path_factory.mktemp("tiny-qwen3"), words.split())


def test_qwen3_style_model_through_the_same_path(tiny_qwen3):
    config = EmbedConfig(model=str(tiny_qwen3), query_prompt=QWEN_PROMPT, passage_prompt="", dimension=16)
    embedder = SentenceTransformerEmbedder(config)
    queries = embedder.embed_queries(["video generation model", "视 频 生 成"])
    passages = embedder.embed_passages(["video generation model"])
    assert queries.shape == (2, 16) and passages.shape == (1, 16)
    # MRL truncation keeps vectors unit length.
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, rtol=1e-5)
    # The instruction goes on queries only, so the same text embeds differently as query and passage.
    assert float(queries[0] @ passages[0]) < 0.9999
    assert embedder.id != SentenceTransformerEmbedder(EmbedConfig(model=str(tiny_qwen3))).id


def test_full_dimension_when_not_truncated(tiny_qwen3):
    embedder = SentenceTransformerEmbedder(EmbedConfig(model=str(tiny_qwen3), query_prompt="", passage_prompt=""))
    assert embedder.embed_passages(["a question"]).shape == (1, 32)
    assert embedder.embed_passages([]).shape == (0, 32)


def test_unknown_model_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = SentenceTransformerEmbedder(EmbedConfig(model="Qwen/Qwen3-Embedding-0.6B"))
    with pytest.raises(ModelFileError, match="Qwen/Qwen3-Embedding-0.6B"):
        embedder.embed_queries(["x"])


def test_a_model_without_a_vector_size_is_a_clear_error():
    embedder = SentenceTransformerEmbedder(EmbedConfig(model="no-pooling"))
    embedder._model = SimpleNamespace(get_embedding_dimension=lambda: None)  # what such a model reports
    with pytest.raises(ModelFileError, match="'no-pooling' does not report its vector size"):
        embedder.embed_passages([])


def test_int8_gives_its_own_vectors_of_the_same_model_under_its_own_id(tiny_qwen3):
    plain = SentenceTransformerEmbedder(EmbedConfig(model=str(tiny_qwen3), query_prompt="", passage_prompt=""))
    int8 = SentenceTransformerEmbedder(replace(plain.config, quantize="int8"))
    texts = ["video generation model", "视 频 生 成", "a question"]
    a, b = plain.embed_passages(texts), int8.embed_passages(texts)
    assert b.shape == a.shape and not np.array_equal(a, b)  # its own vectors ...
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, rtol=1e-5)
    assert np.all(np.sum(a * b, axis=1) > 0.9)  # ... of the same model
    assert int8.id == plain.id + "|int8"  # an index built by one is refused by the other
    with pytest.raises(ConfigError, match="embed.quantize"):
        replace(Config(), embed=EmbedConfig(quantize="int4")).validate()
