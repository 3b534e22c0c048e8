"""Write the answer: a chat model streams text for the messages built in rag/answer.py."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from typing import Any, Protocol

from rag.config import GenerateConfig
from rag.errors import ConfigError, ModelFileError, RagError

logger = logging.getLogger(__name__)

# Chat control tokens look like <|im_end|> in every Qwen model. Digest text must never produce one, or a
# passage could close the user turn and speak as the system: such spellings are broken up before templating.
_CONTROL_TOKEN = re.compile(r"<\|([^|<>\n]{1,40})\|>")

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}, as chat templates expect


def neutralize(text: str) -> str:
    """Returns `text` with anything spelled like a chat control token made harmless (`<|x|>` -> `<x>`)."""
    return _CONTROL_TOKEN.sub(r"<\1>", text)


class Generator(Protocol):
    """A chat model that streams its reply."""

    @property
    def id(self) -> str: ...

    def count_tokens(self, text: str) -> int:
        """Returns how many tokens `text` takes in a prompt."""
        ...

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """Yields the reply piece by piece (each piece is whole characters)."""
        ...


class LlamaCppGenerator:
    """The offline default: a GGUF chat model through llama.cpp, with the chat template stored in the file."""

    def __init__(self, config: GenerateConfig):
        self.config = config
        self._llm: Any = None
        self._system_turns: dict[str, list[int]] = {}  # system message -> its turn's tokens

    @property
    def id(self) -> str:
        return f"llama-cpp:{self.config.model}"

    def _load(self) -> Any:
        if self._llm is not None:
            return self._llm
        from llama_cpp import Llama

        from rag.weights import gguf_file

        path = gguf_file(self.config.model, "generate.model")
        logger.info("loading generator %s", path)
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=self.config.context,
                n_batch=512,
                n_threads=self.config.threads or os.cpu_count(),
                flash_attn=self.config.flash_attn,
                verbose=False,
            )
        except (OSError, ValueError) as e:
            raise ModelFileError(
                f"cannot load generate.model {path} with llama.cpp ({e}); is it a GGUF file?"
            ) from None
        return self._llm

    def count_tokens(self, text: str) -> int:
        return len(self._load().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _cache_system_turn(self, llm: Any, first: Message) -> None:
        """Leaves llama.cpp's cache holding only the system turn, evaluated alone from position 0.

        llama.cpp reuses the cached prefix a prompt shares with the one before and evaluates the rest, and
        evaluating only a prompt's last few tokens rounds differently (the logits differ a little): a
        question's answer then depended on the question asked before it. With the same system turn always
        cached, and nothing more, each prompt is evaluated the same way every time, and the system turn
        (~40 tokens, ~0.25 s) is not evaluated again.
        """
        turn = self._system_turns.get(first["content"]) if first["role"] == "system" else None
        template = llm.metadata.get("tokenizer.chat_template")
        if turn is None and first["role"] == "system" and template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
            from llama_cpp.llama_types import ChatCompletionRequestSystemMessage

            eos, bos = (
                llm.detokenize([t], special=True).decode("utf-8", "ignore") for t in (llm.token_eos(), llm.token_bos())
            )
            system = ChatCompletionRequestSystemMessage(role="system", content=first["content"])
            text = Jinja2ChatFormatter(template, eos, bos, add_generation_prompt=False)(messages=[system]).prompt
            turn = self._system_turns[first["content"]] = llm.tokenize(
                text.encode("utf-8"), add_bos=False, special=True
            )
        if turn and llm.n_tokens >= len(turn) and llm.input_ids[: len(turn)].tolist() == turn:
            llm.n_tokens = len(turn)  # the next evaluation drops the rest
            return
        llm.reset()
        if turn:
            llm.eval(turn)

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        llm = self._load()
        safe = [{"role": m["role"], "content": neutralize(m["content"])} for m in messages]
        self._cache_system_turn(llm, safe[0])
        try:
            chunks = llm.create_chat_completion(
                messages=safe, max_tokens=max_tokens, temperature=self.config.temperature, stream=True
            )
            for chunk in chunks:
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece
        except ValueError as e:  # llama.cpp's "Requested tokens exceed context window"
            raise RagError(f"the prompt does not fit generate.context ({self.config.context} tokens): {e}") from None


class TransformersGenerator:
    """A hub or local causal LM (e.g. Qwen/Qwen2.5-1.5B-Instruct) through transformers, streamed from a thread."""

    def __init__(self, config: GenerateConfig):
        self.config = config
        self._model: Any = None

    @property
    def id(self) -> str:
        return f"transformers:{self.config.model}"

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        from rag.weights import load_causal_lm

        model, tokenizer, device = load_causal_lm("generate", self.config.model, self.config.device)
        if not tokenizer.chat_template:
            raise ModelFileError(
                f"generate.model '{self.config.model}' has no chat template; pick an instruct/chat model"
            )
        self._tokenizer, self._device, self._model = tokenizer, device, model
        return self._model

    def count_tokens(self, text: str) -> int:
        self._load()
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        model, tokenizer = self._load(), self._tokenizer
        safe = [{"role": m["role"], "content": neutralize(m["content"])} for m in messages]
        # enable_thinking reaches only templates that know it (Qwen3): answers should not open with <think>.
        ids = tokenizer.apply_chat_template(
            safe, add_generation_prompt=True, return_tensors="pt", return_dict=True, enable_thinking=False
        )
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        sample = self.config.temperature > 0
        kwargs = {
            **{k: v.to(self._device) for k, v in ids.items()},
            "max_new_tokens": max_tokens,
            "do_sample": sample,
            "temperature": self.config.temperature if sample else None,
            "top_p": None,
            "top_k": None,
            "streamer": streamer,
            "pad_token_id": tokenizer.pad_token_id or tokenizer.eos_token_id,
        }
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                model.generate(**kwargs)
            except BaseException as e:  # re-raised in the caller's thread below
                failure.append(e)
                streamer.end()

        thread = threading.Thread(target=generate, daemon=True)
        thread.start()
        for piece in streamer:
            if piece:
                yield piece
        thread.join()
        if failure:
            raise failure[0]


def make_generator(config: GenerateConfig) -> Generator:
    """Builds the configured generator (cheaply: the model loads on first use)."""
    if config.backend == "llama-cpp":
        return LlamaCppGenerator(config)
    if config.backend == "transformers":
        return TransformersGenerator(config)
    raise ConfigError(f"generate.backend must be llama-cpp or transformers, got {config.backend!r}")
