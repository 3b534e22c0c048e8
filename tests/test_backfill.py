"""A build spread over local processes or Ray Data writes the index a plain build writes."""

import sys

import numpy as np
import pytest
from conftest import free_port, run_cli, save_tiny_bert

from rag import backfill, store
from rag.build import update_index
from rag.config import ChunkConfig, EmbedConfig
from rag.embed import SentenceTransformerEmbedder
from rag.errors import ConfigError, RagError
from rag.load import load_corpus


def test_fewer_than_one_worker_is_refused_in_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("RAG_INDEX__DIR", str(tmp_path / "index"))
    code, _, err = run_cli(monkeypatch, capsys, "index", "--workers", "0")
    assert code == 1 and err.strip() == "error: --workers must be 1 or more (got 0)"
    assert not (tmp_path / "index").exists()


def test_ray_not_installed_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'digest-rag\[ray\]'"):
        backfill.RayEmbedder(SentenceTransformerEmbedder(EmbedConfig()), 2)


def test_a_ray_address_with_no_cluster_behind_it_is_one_line(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "auto")  # the cluster `ray start` would have started on this machine
    with (
        backfill.spread(SentenceTransformerEmbedder(EmbedConfig()), 2, ray=True) as embedder,
        pytest.raises(RagError, match="cannot reach Ray at RAY_ADDRESS=auto"),
    ):
        embedder.embed_passages(["a passage"])


@pytest.mark.parametrize("form", ["ray://127.0.0.1:{}", "127.0.0.1:{}"])
def test_a_ray_address_where_nothing_listens_is_one_line_at_once(monkeypatch, form):
    address = form.format(free_port())
    monkeypatch.setenv("RAY_ADDRESS", address)  # Ray itself would retry for minutes
    with (
        backfill.spread(SentenceTransformerEmbedder(EmbedConfig()), 2, ray=True) as embedder,
        pytest.raises(RagError, match=f"cannot reach Ray at RAY_ADDRESS={address}: nothing answers at 127.0.0.1"),
    ):
        embedder.embed_passages(["a passage"])


@pytest.mark.slow
@pytest.mark.parametrize("ray", [False, True], ids=["processes", "ray"])
def test_a_build_spread_over_two_workers_writes_what_the_plain_build_writes(
    corpus, tmp_path, real_embedder, monkeypatch, ray
):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a Ray started for the test, on this machine
    documents, _ = load_corpus([corpus])
    chunking = ChunkConfig(size=120, overlap=20)  # several chunks a document, so both workers get some
    update_index(tmp_path / "plain", documents, real_embedder, chunking)
    with backfill.spread(real_embedder, workers=2, ray=ray) as spread:
        assert spread.id == real_embedder.id
        update_index(tmp_path / "spread", documents, spread, chunking)

    plain, other = store.load(tmp_path / "plain"), store.load(tmp_path / "spread")
    assert len(plain.chunks) > 4
    assert [(c.chunk_id, c.flags) for c in other.chunks] == [(c.chunk_id, c.flags) for c in plain.chunks]
    np.testing.assert_allclose(other.vectors, plain.vectors, atol=1e-5)
    assert {**other.manifest, "built_at": 0} == {**plain.manifest, "built_at": 0}
    # The same index: a plain update of the spread build finds nothing to do.
    assert not update_index(tmp_path / "spread", documents, real_embedder, chunking).written


@pytest.mark.slow
def test_an_error_in_a_ray_worker_is_one_line_naming_it(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    missing = SentenceTransformerEmbedder(EmbedConfig(model="/nonexistent/model"))  # fails in the actor
    with (
        backfill.spread(missing, 1, ray=True) as embedder,
        pytest.raises(RagError, match=r"^the Ray embedding job failed: cannot load embedder model id '/nonexistent/"),
    ):
        embedder.embed_passages(["a passage"])


def test_workers_run_the_onnx_export_made_once_before_them(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path / "models"))  # the spawned workers read it too
    model = save_tiny_bert(tmp_path / "bert", "passage : video generation model 视 频".split())
    local = SentenceTransformerEmbedder(EmbedConfig(model=str(model), backend="onnx", quantize="int8"))
    texts = ["video generation model", "视 频 model", "generation"] * 3
    with backfill.spread(local, workers=2) as embedder:
        vectors = embedder.embed_passages(texts)
    np.testing.assert_allclose(vectors, local.embed_passages(texts), atol=1e-5)
    assert capfd.readouterr().err.count("exporting the embedder to ONNX") == 2  # float32, then int8: by the driver
