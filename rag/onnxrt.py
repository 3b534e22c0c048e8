"""The embedder's transformer run by ONNX Runtime (`embed.backend = "onnx"`), exported from its own weights.

sentence-transformers keeps the tokenization, prompts, batching, pooling and truncation; only the transformer's
forward pass moves to ONNX Runtime. The export happens on first use, next to the other built models: the
model traced with eager attention, its attention and layer norms fused by ONNX Runtime's BERT optimizer, and,
with `embed.quantize = "int8"`, its weights quantized per channel (activations per batch). A marker records the
sha256 of the source weights and of the exported file; both are checked on every load, so changed weights or
a damaged file are exported again. (sentence-transformers' own `backend="onnx"` needs optimum, whose releases
require an older transformers than the one pinned here: docs/decisions/0014.)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from rag.errors import ConfigError, ModelFileError
from rag.weights import default_models_dir, sha256_file

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

FORMAT = 1
# Encoders ONNX Runtime's BERT optimizer fuses (its model_type "bert" covers these layouts).
ENCODERS = ("bert", "xlm-roberta", "roberta")


def use_onnx(model: SentenceTransformer, quantize: str) -> SentenceTransformer:
    """Replaces `model`'s transformer forward pass with an ONNX Runtime session of the same weights.

    Raises:
        ConfigError: ONNX Runtime is not installed, the model is on a GPU, or it is not a BERT-style encoder.
        ModelFileError: The export fails.
    """
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError("embed.backend = 'onnx' needs ONNX Runtime: pip install 'digest-rag[onnx]'") from None
    transformer: Any = model[0]
    hf_model: Any = transformer.model
    if model.device.type != "cpu":
        raise ConfigError(f"embed.backend = 'onnx' runs on the CPU; set embed.device = 'cpu' (got {model.device})")
    if hf_model.config.model_type not in ENCODERS:
        raise ConfigError(
            f"embed.backend = 'onnx' exports BERT-style encoders ({', '.join(ENCODERS)}), like the default e5; "
            f"this model is a {hf_model.config.model_type!r}: set embed.backend = 'torch'"
        )
    path = ensure_export(hf_model, quantize)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # what the process was given (rag index --workers)
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    transformer.model = OnnxForward(session, hf_model.config)  # the torch weights are freed with hf_model
    return model


class OnnxForward(torch.nn.Module):
    """Stands in for the Hugging Face model inside sentence-transformers' Transformer module."""

    def __init__(self, session: Any, config: Any):
        super().__init__()
        self.session, self.config = session, config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: Any) -> dict[str, Any]:
        feed = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        (hidden,) = self.session.run(["last_hidden_state"], feed)
        return {"last_hidden_state": torch.from_numpy(hidden)}


class LastHidden(torch.nn.Module):
    """A Hugging Face encoder as the function the ONNX file holds: input ids and mask to the last hidden state."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def ensure_export(hf_model: Any, quantize: str, models_dir: Path | None = None) -> Path:
    """Returns the ONNX file of `hf_model`'s weights (int8 if `quantize`), exporting it when missing or stale."""
    source = Path(hf_model.name_or_path)
    weights = source / "model.safetensors"
    if not weights.is_file():
        raise ConfigError(
            f"embed.backend = 'onnx' exports from a model folder with model.safetensors; {source} has none "
            "(embed.model must name such a folder, or the default)"
        )
    source_sha = sha256_file(weights)
    folder = (models_dir or default_models_dir()) / "onnx" / f"{source.name}-{source_sha[:12]}"
    name = f"model{'_' + quantize if quantize else ''}.onnx"
    marker = folder / f"{name}.json"
    try:
        recorded = json.loads(marker.read_text())
        if recorded["format"] == FORMAT and sha256_file(folder / name) == recorded["sha256"]:
            return folder / name
        logger.warning("%s does not match its marker; exporting it again", folder / name)
    except (OSError, ValueError, KeyError):
        pass
    float32 = ensure_export(hf_model, "", models_dir) if quantize else None
    folder.mkdir(parents=True, exist_ok=True)
    _export(hf_model, float32, folder / name)
    record = {"format": FORMAT, "source": str(weights), "source_sha256": source_sha, "quantize": quantize}
    record["sha256"] = sha256_file(folder / name)
    marker.write_text(json.dumps(record, indent=2) + "\n")
    return folder / name


def _export(hf_model: Any, float32: Path | None, target: Path) -> None:
    """Writes `target`: the model traced and fused, or else the `float32` export quantized to int8.

    The file is written in a temporary folder beside `target` and renamed into place when complete.
    """
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError:
        raise ConfigError("embed.backend = 'onnx' needs onnx to export: pip install 'digest-rag[onnx]'") from None
    started = time.monotonic()
    print(f"exporting the embedder to ONNX ({'int8' if float32 else 'float32'}; once, under a minute)", file=sys.stderr)
    tmp = Path(tempfile.mkdtemp(prefix=".export.", dir=target.parent))
    try:
        if float32 is not None:
            logging.disable(logging.WARNING)  # the quantizer's advice to pre-process, logged on every call
            quantize_dynamic(
                float32,
                tmp / target.name,
                per_channel=True,
                weight_type=QuantType.QInt8,
                # type inference cannot see through the fused (com.microsoft) operators
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        else:
            _trace(hf_model, tmp / "traced.onnx")
            config = hf_model.config
            fused = optimize_model(
                str(tmp / "traced.onnx"),
                model_type="bert",
                num_heads=config.num_attention_heads,
                hidden_size=config.hidden_size,
            )
            fused.save_model_to_file(str(tmp / target.name))
        os.replace(tmp / target.name, target)
    except Exception as e:  # the exporters raise many kinds; the message says which step failed
        raise ModelFileError(f"exporting the embedder to ONNX failed ({type(e).__name__}: {e})") from e
    finally:
        logging.disable(logging.NOTSET)
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("exported %s in %.1f s", target, time.monotonic() - started)


def _trace(hf_model: Any, path: Path) -> None:
    """Traces `hf_model` (input ids and mask to last hidden state) with eager attention, which ORT then fuses."""
    hf_model.set_attn_implementation("eager")
    # A padded batch, so the traced graph keeps the attention-mask path.
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 5, 2, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            LastHidden(hf_model).eval(),
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "seq"}},
            opset_version=17,
            dynamo=False,
        )
