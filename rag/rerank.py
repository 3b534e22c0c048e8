"""Rerank first-stage hits: a causal LM judges each (question, passage) pair and the score is P(yes)."""

from __future__ import annotations

import hashlib
import logging
import os
import string
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from rag.config import RerankConfig
from rag.errors import ConfigError, ModelFileError

logger = logging.getLogger(__name__)

TEMPLATES = {
    # For the default generator, which is no reranker. The question comes after the passage: a small model
    # judges what it read last far better (docs/decisions/0011). Only the instruction is then a cached prefix,
    # and each pair pays for its question's tokens too.
    "plain": (
        "<|im_start|>system\nYou judge search results.<|im_end|>\n"
        "<|im_start|>user\n{instruction}\nPassage: {passage}\nQuestion: {query}\n"
        "Does the passage answer the question? Reply only yes or no.<|im_end|>\n"
        "<|im_start|>assistant\n"
    ),
    # The format Qwen/Qwen3-Reranker-* were trained on, byte for byte.
    "qwen3-reranker": (
        "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
        'provided. Note that the answer can only be "yes" or "no".<|im_end|>\n'
        "<|im_start|>user\n<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {passage}<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    ),
}
_FIELDS = ("instruction", "query", "passage")
_MAX_QUERY_TOKENS = 256
_BATCH = 8  # pairs per forward pass in the transformers and cross-encoder backends
# Next-token spellings pooled into P(yes) and P(no).
_ANSWERS = (("yes", "Yes"), ("no", "No"))

Tokenize = Callable[[str, bool], list[int]]  # (text, parse_special_tokens) -> token ids


class Reranker(Protocol):
    """Scores passages against a question; higher is more relevant."""

    @property
    def id(self) -> str:
        """Names the model and every setting that changes the scores."""
        ...

    def score(self, query: str, passages: list[str]) -> list[float]:
        """Returns one score in [0, 1] per passage, in the input order."""
        ...


def render(template: str, instruction: str, query: str, passage: str) -> tuple[list[tuple[str, str]], int]:
    """Fills a template, keeping track of which text is trusted.

    Args:
        template: A name from `TEMPLATES`, or a format string with `{passage}` once and optionally
            `{instruction}` and `{query}`.

    Returns:
        `(segments, split)`: `(kind, text)` pairs where kind is "template" or a field name, and the index
        of the passage segment; the segments before it are the same for every passage of a query.

    Raises:
        ConfigError: The template is not a known name and not a usable template string.
    """
    text = TEMPLATES.get(template, template)
    values = {"instruction": instruction, "query": query, "passage": passage}
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as e:
        raise ConfigError(f"rerank.template is not a valid template string ({e}): {template!r}") from None
    segments: list[tuple[str, str]] = []
    literal = ""
    for text_before, field, spec, conversion in parsed:
        literal += text_before  # "{{" and "}}" arrive as pieces of their own
        if field is None:
            continue
        if field not in _FIELDS or spec or conversion:
            raise ConfigError(f"rerank.template may only use {{instruction}}, {{query}}, {{passage}}; got {{{field}}}")
        # Spaces before a field go with the field's text so that BPE merges " word" as it would in one string.
        lead = literal[len(literal.rstrip(" ")) :]
        if literal != lead:
            segments.append(("template", literal[: len(literal) - len(lead)]))
        segments.append((field, lead + values[field]))
        literal = ""
    if literal:
        segments.append(("template", literal))
    split = [i for i, (kind, _text) in enumerate(segments) if kind == "passage"]
    if len(split) != 1:
        raise ConfigError(
            f"rerank.template must be one of {', '.join(TEMPLATES)} or a template string with {{passage}} "
            f"exactly once; got {template!r}"
        )
    return segments, split[0]


def encode_pair(tokenize: Tokenize, config: RerankConfig, query: str, passage: str) -> tuple[list[int], list[int]]:
    """Returns the (prefix, suffix) token ids of one prompt; the suffix starts with the passage.

    Only the template's own text may produce control tokens such as `<|im_end|>`: the question and the
    passage are untrusted digest text and are tokenized as plain text. The passage is cut to
    `config.max_passage_tokens` tokens and the question to 256.
    """
    segments, split = render(config.template, config.instruction, query, passage)
    limits = {"query": _MAX_QUERY_TOKENS, "passage": config.max_passage_tokens}
    ids = [tokenize(text, kind == "template")[: limits.get(kind)] for kind, text in segments]
    return [t for part in ids[:split] for t in part], [t for part in ids[split:] for t in part]


def p_yes(logits: np.ndarray, yes: list[int], no: list[int]) -> float:
    """Returns softmax over the "yes" and "no" next-token logits, each side pooled over its spellings."""
    logits = np.asarray(logits, dtype=np.float64)
    margin = np.logaddexp.reduce(logits[yes]) - np.logaddexp.reduce(logits[no])
    return float(1.0 / (1.0 + np.exp(-margin)))


def _answer_ids(tokenize: Tokenize, words: tuple[str, ...], unk: int | None = None) -> list[int]:
    ids = [tokenize(word, False) for word in words]
    if len(ids[0]) != 1 or ids[0][0] == unk:
        raise ModelFileError(f"the reranker model has no single token for {words[0]!r}; pick a chat LM as rerank.model")
    return sorted({t[0] for t in ids if len(t) == 1 and t[0] != unk})


class _LazyReranker:
    """Settings, the id, and (for the yes/no judges) prompt encoding; subclasses load their model on first use."""

    def __init__(self, config: RerankConfig):
        if config.max_passage_tokens < 1:
            raise ConfigError(f"rerank.max_passage_tokens must be >= 1, got {config.max_passage_tokens}")
        render(config.template, "", "", "")  # a bad template fails here, not at the first question
        self.config = config
        self._bos: list[int] = []

    @property
    def id(self) -> str:
        c = self.config
        template = c.template if c.template in TEMPLATES else hashlib.sha256(c.template.encode()).hexdigest()[:12]
        return f"{c.backend}:{c.model}|{template}|{c.instruction!r}|max_passage_tokens={c.max_passage_tokens}"

    def _load(self) -> Any:
        raise NotImplementedError

    def _tokenize(self, text: str, special: bool) -> list[int]:
        raise NotImplementedError

    def _set_answers(self, unk: int | None = None) -> None:
        self._yes = _answer_ids(self._tokenize, _ANSWERS[0], unk)
        self._no = _answer_ids(self._tokenize, _ANSWERS[1], unk)

    def _encode(self, query: str, passage: str) -> tuple[list[int], list[int]]:
        self._load()
        prefix, suffix = encode_pair(self._tokenize, self.config, query, passage)
        return self._bos + prefix, suffix


class LlamaCppReranker(_LazyReranker):
    """The offline default: a GGUF chat model through llama.cpp, one pair at a time.

    The prompt up to the passage is evaluated once and kept in the KV cache; each pair then costs only the
    rest. With "plain" that prefix is the instruction alone, shared by all questions.
    """

    _llm: Any = None

    def _load(self) -> Any:
        if self._llm is not None:
            return self._llm
        from llama_cpp import Llama

        from rag.weights import gguf_file

        path = gguf_file(self.config.model, "rerank.model")
        logger.info("loading reranker %s", path)
        self._n_ctx = 512 + _MAX_QUERY_TOKENS + self.config.max_passage_tokens
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=self._n_ctx,
                n_batch=512,
                n_threads=self.config.threads or os.cpu_count(),
                logits_all=False,
                verbose=False,
            )
        except (OSError, ValueError) as e:
            raise ModelFileError(f"cannot load rerank.model {path} with llama.cpp ({e}); is it a GGUF file?") from None
        self._bos = self._llm.tokenize(b"", add_bos=True, special=True)
        self._set_answers()
        return self._llm

    def _tokenize(self, text: str, special: bool) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)

    def _next_token_logits(self, prefix: list[int], suffix: list[int]) -> np.ndarray:
        llm, n = self._llm, len(prefix)
        if n + len(suffix) > self._n_ctx:
            raise ConfigError(f"the rerank prompt has {n + len(suffix)} tokens, more than {self._n_ctx}; shorten it")
        # The prefix is always evaluated whole, from position 0: quantized kernels round differently when a
        # sequence is split into other batches, so reusing part of a prefix would make scores depend on history.
        if llm.n_tokens < n or llm.input_ids[:n].tolist() != prefix:
            llm.n_tokens = 0
            llm.eval(prefix)
        keep = n if suffix else n - 1
        llm.n_tokens = keep  # eval() first drops cached entries past n_tokens: the previous passage goes
        llm.eval((prefix + suffix)[keep:])
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()

    def score(self, query: str, passages: list[str]) -> list[float]:
        return [p_yes(self._next_token_logits(*self._encode(query, p)), self._yes, self._no) for p in passages]


class TransformersReranker(_LazyReranker):
    """A hub or local causal LM through transformers (e.g. Qwen/Qwen3-Reranker-0.6B); pairs run in batches."""

    _model: Any = None

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        from rag.weights import load_causal_lm

        model, tokenizer, device = load_causal_lm("rerank", self.config.model, self.config.device)
        self._tokenizer, self._device = tokenizer, device
        self._bos = [tokenizer.bos_token_id] if getattr(tokenizer, "add_bos_token", False) else []
        self._pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id or 0
        self._set_answers(tokenizer.unk_token_id)
        self._model = model
        return self._model

    def _tokenize(self, text: str, special: bool) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False, split_special_tokens=not special)

    def score(self, query: str, passages: list[str]) -> list[float]:
        import torch

        model = self._load()
        rows = [prefix + suffix for prefix, suffix in (self._encode(query, p) for p in passages)]
        scores: list[float] = []
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            width = max(len(row) for row in batch)
            ids = torch.full((len(batch), width), self._pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for i, row in enumerate(batch):  # left padding puts every pair's last token in the last column
                ids[i, width - len(row) :] = torch.tensor(row)
                mask[i, width - len(row) :] = 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)  # so a padded pair scores as it would alone
            inputs = {"input_ids": ids, "attention_mask": mask, "position_ids": positions}
            with torch.inference_mode():
                out = model(**{k: v.to(self._device) for k, v in inputs.items()}, logits_to_keep=1)
            scores.extend(p_yes(row, self._yes, self._no) for row in out.logits[:, -1, :].float().cpu().numpy())
        return scores


class CrossEncoderReranker(_LazyReranker):
    """A sentence-transformers CrossEncoder (e.g. BAAI/bge-reranker-v2-m3); its logits go through a sigmoid."""

    _model: Any = None

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        from rag.weights import hub_offline

        offline = hub_offline()
        import torch
        from sentence_transformers import CrossEncoder

        try:
            model = CrossEncoder(self.config.model, device=self.config.device or None, local_files_only=offline)
        except (OSError, ValueError) as e:
            raise ModelFileError(
                f"cannot load rerank.model '{self.config.model}' ({str(e).splitlines()[0]}); with rerank.backend = "
                "cross-encoder it must name a CrossEncoder folder or a model already in the Hugging Face cache"
            ) from None
        # predict() applies whatever activation the model was saved with (Identity for some); pin it to P(relevant).
        model.activation_fn = torch.nn.Sigmoid() if model.num_labels == 1 else torch.nn.Softmax(dim=-1)
        self._model = model
        return model

    def score(self, query: str, passages: list[str]) -> list[float]:
        model = self._load()
        if not passages:
            return []
        tok, limit = model.tokenizer, self.config.max_passage_tokens
        cut = [tok.decode(tok.encode(p, add_special_tokens=False)[:limit]) for p in passages]
        scores = model.predict([(query, p) for p in cut], batch_size=_BATCH, show_progress_bar=False)
        scores = np.asarray(scores, dtype=np.float64)
        return [float(s) for s in (scores[:, -1] if scores.ndim > 1 else scores)]


def make_reranker(config: RerankConfig) -> Reranker | None:
    """Builds the configured reranker (cheaply: models load on first use), or None for backend "none"."""
    backends: dict[str, Callable[[RerankConfig], Reranker]] = {
        "llama-cpp": LlamaCppReranker,
        "transformers": TransformersReranker,
        "cross-encoder": CrossEncoderReranker,
    }
    if config.backend == "none":
        return None
    if config.backend not in backends:
        raise ConfigError(f"rerank.backend must be {', '.join(backends)} or none, got {config.backend!r}")
    return backends[config.backend](config)
