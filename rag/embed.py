"""Embed passages and queries with a sentence-transformers model (the offline e5 default or Qwen3-Embedding)."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.config import DEFAULT_EMBEDDER, EmbedConfig
from rag.errors import ConfigError, ModelFileError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors; queries and passages may get different prompts."""

    @property
    def id(self) -> str:
        """Names the model and every setting that changes its vectors; recorded in the index manifest."""
        ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def quantized(model: SentenceTransformer) -> SentenceTransformer:
    """The model with its linear layers in int8 (weights quantized once, activations per batch), on the CPU.

    Raises:
        ConfigError: the model is on a GPU, where PyTorch's dynamic quantization does not run.
    """
    import torch

    if model.device.type != "cpu":
        raise ConfigError(f"embed.quantize = 'int8' runs on the CPU; set embed.device = 'cpu' (got {model.device})")
    with warnings.catch_warnings():  # the API is deprecated in favour of torchao, which torch 2.13 does not ship
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a local folder, a hub id (if cached), or the bundled e5 default.

    The model loads on first use, so building this object is cheap.
    """

    def __init__(self, config: EmbedConfig):
        self.config = config
        self._model: SentenceTransformer | None = None

    @property
    def id(self) -> str:
        c = self.config
        dim = f"|dim={c.dimension}" if c.dimension else ""
        # ONNX Runtime in float32 gives torch's vectors (to 1e-6), so only its int8 gets an id of its own.
        quantized = f"|{'onnx-' if c.backend == 'onnx' else ''}{c.quantize}" if c.quantize else ""
        prompts = f"|query={c.query_prompt!r}|passage={c.passage_prompt!r}"
        return f"{c.model}{dim}{prompts}|max_seq={c.max_seq_length}{quantized}"

    def _load(self) -> SentenceTransformer:
        if self._model is not None:
            return self._model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the CLI shows its own progress; weight loading is quick

        name = self.config.model
        if name == DEFAULT_EMBEDDER:
            from rag.weights import ensure_e5_model

            name = str(ensure_e5_model())
        logger.info("loading embedder %s", name)
        try:
            model = SentenceTransformer(
                name,
                device=self.config.device or None,
                truncate_dim=self.config.dimension or None,
                local_files_only=os.environ.get("HF_HUB_OFFLINE") == "1",
            )
        except (OSError, ValueError) as e:
            where = "folder" if Path(name).exists() else "model id"
            raise ModelFileError(
                f"cannot load embedder {where} '{name}' ({str(e).splitlines()[0]}); "
                "offline, embed.model must name a folder on disk or a model already in the Hugging Face cache"
            ) from None
        model.max_seq_length = min(self.config.max_seq_length, model.max_seq_length or self.config.max_seq_length)
        if self.config.backend == "onnx":
            from rag.onnxrt import use_onnx

            model = use_onnx(model, self.config.quantize)
        elif self.config.quantize == "int8":
            model = quantized(model)
        self._model = model
        return model

    @property
    def dim(self) -> int:
        dim = self._load().get_embedding_dimension()
        if dim is None:
            raise ModelFileError(
                f"embedder '{self.config.model}' does not report its vector size; embed.model must name a "
                "sentence-embedding model (one with a pooling layer)"
            )
        return int(dim)

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = model.encode(
            texts, prompt=prompt, batch_size=self.config.batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        # Truncated (MRL) vectors are no longer unit length; normalize after truncation.
        return normalize(vectors)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.config.query_prompt)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.config.passage_prompt)
