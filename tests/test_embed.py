"""The one embedding code path, proven on tiny random-weight Qwen3 and BERT models built here (no hub needed)."""

import json
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from rag.config import Config, EmbedConfig
from rag.embed import SentenceTransformerEmbedder
from rag.errors import ConfigError, ModelFileError
from rag.weights import sha256_file
from tests.conftest import save_tiny_bert, save_tiny_embedder

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


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    words = "passage : query video generation model a question about digests 视 频 生 成"
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), words.split())


TEXTS = ["video generation model", "视 频 生 成 model", "a question about digests video video video video"]


def test_onnx_float32_gives_torchs_vectors_under_the_same_id(tiny_bert, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path))
    torch_ = SentenceTransformerEmbedder(EmbedConfig(model=str(tiny_bert)))
    onnx = SentenceTransformerEmbedder(replace(torch_.config, backend="onnx"))
    np.testing.assert_allclose(onnx.embed_passages(TEXTS), torch_.embed_passages(TEXTS), atol=1e-5)
    np.testing.assert_allclose(onnx.embed_queries(TEXTS[:1]), torch_.embed_queries(TEXTS[:1]), atol=1e-5)
    assert onnx.embed_passages([]).shape == (0, 32)
    assert onnx.id == torch_.id  # the same vectors: an index built by one is searched by the other
    assert "exporting the embedder to ONNX (float32" in capsys.readouterr().err
    # The export is kept with its hashes and reused, not exported again.
    (marker,) = tmp_path.glob("onnx/*/model.onnx.json")
    assert json.loads(marker.read_text())["sha256"] == sha256_file(marker.with_suffix(""))
    SentenceTransformerEmbedder(onnx.config).embed_passages(TEXTS)
    assert "exporting" not in capsys.readouterr().err


def test_onnx_int8_is_its_own_model_and_a_damaged_export_is_made_again(tiny_bert, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path))
    plain = SentenceTransformerEmbedder(EmbedConfig(model=str(tiny_bert), backend="onnx"))
    int8 = SentenceTransformerEmbedder(replace(plain.config, quantize="int8"))
    a, b = plain.embed_passages(TEXTS), int8.embed_passages(TEXTS)
    assert not np.array_equal(a, b) and np.all(np.sum(a * b, axis=1) > 0.9)
    assert int8.id == plain.id + "|onnx-int8"  # not torch's int8 ("|int8"): other vectors
    (exported,) = tmp_path.glob("onnx/*/model_int8.onnx")
    with open(exported, "ab") as f:
        f.write(b"damage")
    capsys.readouterr()
    np.testing.assert_allclose(SentenceTransformerEmbedder(int8.config).embed_passages(TEXTS), b, atol=1e-6)
    assert "exporting the embedder to ONNX (int8" in capsys.readouterr().err


def test_onnx_backend_errors_say_what_to_do(tiny_qwen3, monkeypatch):
    with pytest.raises(ConfigError, match="embed.backend must be torch or onnx"):
        replace(Config(), embed=EmbedConfig(backend="tensorflow")).validate()
    qwen = SentenceTransformerEmbedder(EmbedConfig(model=str(tiny_qwen3), backend="onnx"))
    with pytest.raises(ConfigError, match="exports BERT-style encoders .* this model is a 'qwen3': set embed.backend"):
        qwen.embed_passages(["x"])
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # not installed
    with pytest.raises(ConfigError, match=r"needs ONNX Runtime: pip install 'digest-rag\[onnx\]'"):
        SentenceTransformerEmbedder(qwen.config).embed_passages(["x"])


@pytest.mark.slow
def test_the_default_e5_in_onnx_runtime(real_embedder):
    texts = ["passage about video generation", "视频生成的论文有哪些？", "Qwen3 embeddings in the weekly report"]
    onnx = SentenceTransformerEmbedder(replace(real_embedder.config, backend="onnx"))
    np.testing.assert_allclose(onnx.embed_passages(texts), real_embedder.embed_passages(texts), atol=1e-5)
    int8 = SentenceTransformerEmbedder(replace(onnx.config, quantize="int8"))
    assert np.all(np.sum(int8.embed_queries(texts) * onnx.embed_queries(texts), axis=1) > 0.98)
