"""Shared fixtures: fakes for fast tests, the real default embedder (loaded once) for slow ones."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag.embed import normalize

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SHARED_EVAL = REPO.parent / "shared" / "eval" / "dev.jsonl"


class HashingEmbedder:
    """A deterministic bag-of-tokens embedder: texts sharing words (or CJK characters) end up close."""

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.calls: list[str] = []

    @property
    def id(self) -> str:
        return f"hashing-{self.dim}"

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in re.findall(r"[\u4e00-\u9fff]|\w+", text.lower()):
                out[row, int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dim] += 1.0
        out[:, 0] += 1e-3  # keeps empty texts from being zero vectors
        return normalize(out)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls.extend(texts)
        return self._embed(texts)


class ScriptedGenerator:
    """A fake generator: replies with `reply` (a function of the prompt) in small pieces, and records prompts."""

    id = "scripted"

    def __init__(self, reply):
        self.reply = reply
        self.prompts: list[list[dict[str, str]]] = []
        self.max_tokens: list[int] = []

    def count_tokens(self, text: str) -> int:
        return len(text)

    def stream(self, messages, max_tokens):
        self.prompts.append(messages)
        self.max_tokens.append(max_tokens)
        text = self.reply(messages)
        for i in range(0, len(text), 3):
            yield text[i : i + 3]


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Runs `rag ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from rag import cli

    monkeypatch.setattr(sys, "argv", ["rag", *args])
    try:
        cli.run()
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A small corpus folder: one daily report with two papers and one plain-text weekly."""
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "daily-2026-01-05.md").write_text(
        "# Daily Papers Report\n**Date**: 2026-01-05\n\n"
        "## 📄 VidGen: Long Video Generation\n\n- **链接**: https://example.org/papers/1\n\n"
        "1. **应用领域**：\n   视频生成。\n\n2. **一句话核心贡献**：\n   提出 VidGen，生成长达 10 分钟的视频。\n\n"
        "============================================================\n\n"
        "## 📄 MathRL: Reinforcement Learning for Math\n\n- **链接**: https://example.org/papers/2\n\n"
        "### 5. 实验效果\n在 GSM8K 上准确率提高了 **12.5%**。\n",
        encoding="utf-8",
    )
    (root / "weekly-2025-06.txt").write_text(
        "AI weekly report. Qwen3-Embedding-8B scores 70.58 on MMTEB. 本周点评：嵌入模型进展很快。\n", encoding="utf-8"
    )
    return root


def free_port() -> int:
    """A port nothing listens on now, for a real server of a test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory) -> Iterator[str]:
    """The URI of a Milvus server process for the store's server path (`store.uri`): Milvus Lite's gRPC server
    mode, so the client makes the calls it makes to a Milvus Standalone, on the Lite engine."""
    from pymilvus import MilvusClient

    port, data = free_port(), tmp_path_factory.mktemp("milvus-server")
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--host", "127.0.0.1"]
    server = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
    while True:
        try:
            MilvusClient(uri, timeout=2).close()
            break
        except Exception:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"the Milvus Lite server did not start on {uri}") from None
            time.sleep(0.2)
    yield uri
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def real_embedder_session():
    from rag.config import EmbedConfig
    from rag.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(EmbedConfig())
    embedder.embed_queries(["warm up"])
    return embedder


@pytest.fixture
def real_embedder(real_embedder_session):
    return real_embedder_session


# A minimal Qwen-style chat template for the tiny chat models.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
    "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)


def save_tiny_chat_lm(root: Path, words: list[str], chat_template: str | None = None) -> Path:
    """Saves a tiny random `Qwen3ForCausalLM` with Qwen's chat control tokens (and `chat_template` when given)."""
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    save_tiny_qwen3(
        root,
        [*specials, "<unk>", "<", "|", ">", *words],
        "Qwen3ForCausalLM",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=specials[1:],
    )
    if chat_template:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(root)
        tokenizer.chat_template = chat_template
        tokenizer.save_pretrained(root)
    return root


def save_tiny_embedder(root: Path, words: list[str]) -> Path:
    """Saves a tiny random Qwen3 embedder (last-token pooling, normalized) as a sentence-transformers folder."""
    save_tiny_qwen3(
        root / "hf",
        ["<|endoftext|>", "<unk>", *words],
        "Qwen3Model",
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        padding_side="left",
    )
    return save_sentence_transformer(root / "hf", root / "st", pooling_mode="lasttoken")


def save_tiny_bert(root: Path, words: list[str]) -> Path:
    """Saves a 2-layer random-weight BERT with mean pooling (an encoder like e5) as a sentence-transformers folder."""
    import torch
    import transformers

    tokens = ["[PAD]", "[UNK]", *words]
    tokenizer = word_tokenizer(tokens, unk_token="[UNK]", pad_token="[PAD]")
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(tokens), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4
    )
    transformers.BertModel(config, add_pooling_layer=False).save_pretrained(root / "hf")
    tokenizer.save_pretrained(root / "hf")
    return save_sentence_transformer(root / "hf", root / "st", pooling_mode="mean")


def save_sentence_transformer(hf_folder: Path, target: Path, pooling_mode: str) -> Path:
    """Saves the Hugging Face model in `hf_folder`, pooled and normalized, as a sentence-transformers folder."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as models

    transformer = models.Transformer(str(hf_folder))
    pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode=pooling_mode)
    SentenceTransformer(modules=[transformer, pooling, models.Normalize()]).save(str(target))
    return target


def word_tokenizer(tokens: list[str], unk_token: str, **tokenizer_kwargs):
    """A fast tokenizer that splits on whitespace and punctuation and knows exactly `tokens`."""
    import transformers
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel

    backend = Tokenizer(WordLevel({token: i for i, token in enumerate(tokens)}, unk_token=unk_token))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=backend, unk_token=unk_token, **tokenizer_kwargs)


def save_tiny_qwen3(root: Path, tokens: list[str], model_class: str, **tokenizer_kwargs) -> Path:
    """Saves a 2-layer random-weight Qwen3 model (`Qwen3Model` or `Qwen3ForCausalLM`) with a word-level
    tokenizer over `tokens` to `root`, so the real loading code runs with no hub."""
    import torch
    import transformers

    tokenizer = word_tokenizer(tokens, unk_token="<unk>", **tokenizer_kwargs)
    torch.manual_seed(0)
    config = transformers.Qwen3Config(
        vocab_size=len(tokens),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        max_position_embeddings=512,
    )
    getattr(transformers, model_class)(config).save_pretrained(root)
    tokenizer.save_pretrained(root)
    return root
