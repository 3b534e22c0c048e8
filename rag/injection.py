"""Passages that address the assistant: instructions hidden in a digest are data, and are flagged as such.

A digest reports on papers to a human reader; it has no reason to speak to the program that reads it. A passage
is flagged when it

- holds a chat role or control marker outside code (`marker`);
- speaks to an AI reader, by name ("AI 助手请注意", "Summarizer:", "Agents browsing this page") or as the one
  writing the reply ("in your next answer", "when a user asks ..., say ...") (`addressed`);
- tells the reader to keep something from the user ("do not tell the user", "无需向用户披露") (`concealment`);
- sets earlier instructions or settings aside ("ignore previous instructions", "你原有的规则作废") (`override`);
- dictates the reply ("reply only with ...") (`fixed_answer`);
- writes an image whose address carries data, or sends the reader to an address to download or visit
  (`exfiltration`).

Papers *about* prompt injection describe such text in the third person; quoted examples (in quotation marks or
code) are mentions, not orders. What a first reading hides is read too: fullwidth letters, base64, text spaced
out letter by letter, written backwards or in leetspeak.

Patterns miss orders phrased in words they do not list. So a sentence is also flagged (`learned`) when a
logistic head on the embedder's vector of it says it addresses an AI reader: `Head`, trained by
scripts/train_injection_head.py on eval/injection/train-*.jsonl, tune-benign.jsonl and the shipped digests'
sentences (all benign), and stored in rag/injection_head.json for the embedder it was trained with; with another
embedder only the patterns apply.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.cite import sentences

logger = logging.getLogger(__name__)

# Chat-template and role markers: "<|im_start|>system", "[INST]", "<<SYS>>", "### System:", "【系统】", "<system>".
_MARKERS = re.compile(
    r"<\|[a-z_]+\|>|\[/?INST\]|<</?SYS>>|^\s*#{2,}\s*(?:system|instruction|assistant)\b|"
    r"^\s*(?:system|assistant)\s*[:：]|[【\[]\s*(?:系统|系统提示|系统通知|system)\s*[】\]｜|]|"
    r"</?system>|[\"']role[\"']\s*:\s*[\"']system[\"']|^\s*(?:developer|system) message\b",
    re.IGNORECASE | re.MULTILINE,
)
# Who an order can be for: a program reading this very text. Research subjects ("模型", "the model") are not
# enough on their own; they count when addressed (below).
_READER = (
    r"(?:\bAI\b(?: (?:assistants?|systems?|models?|tools?|readers?))?|\bLLMs?\b|language models?|assistants?|"
    r"chat ?bots?|\bbots?\b|crawlers?|summari[sz]ers?|agents?|"
    r"AI ?助手|助手|大语言模型|语言模型|大模型|机器人|智能体|问答系统|问答模型|检索系统|摘要程序|程序)"
)
# ... that reads this very text: "summarizing this page", "阅读本段".
_THIS = (
    r"(?:reading|summari[sz]ing|processing|parsing|indexing|browsing|that reads|who reads|sees?)\s+"
    r"(?:this|these|the following)|"
    r"(?:阅读|读取|读到|处理|总结|摘要|看到|检索到)(?:本|这|此|以下)"
)
_PERSONA = r"(?:助手|AI|模型|机器人|assistant|角色)"
_DO = (
    r"(?:say|tell|answer|respond|reply|output|state|claim|mention|recommend|reveal|repeat|refuse|ignore|disregard|"
    r"forget|hide|omit|include|add|append|insert|link|rank|report|describe|direct|use|send|delete|"
    r"说|告诉|回答|回复|输出|声称|声明|提到|提及|推荐|透露|重复|拒绝|忽略|无视|隐瞒|省略|转告|告知|加上|附上|插入)"
)
_ADDRESSED = re.compile(
    # "AI assistants summarizing this page should tell readers ...", "正在读取本段的 AI 助手：请……"
    rf"{_READER}[^。.!?！？\n]{{0,30}}?(?:{_THIS})|(?:{_THIS})[^。.!?！？\n]{{0,30}}?{_READER}|"
    # "致 AI 助手：", "写给大模型", "供大模型使用", "Dear assistant,", "Note to language models:", "Hey assistant"
    rf"(?:(?<![\u4e00-\u9fff])致|写给|给|供|拜托|(?<!\w)(?:dear|attention|note (?:to|for)|instruction (?:to|for)|"
    rf"hey|hi)\b)\s*(?:all |any |the |正在|各位|亲爱的)?[^。.!?！？\n]{{0,12}}?{_READER}|"
    rf"亲爱的\s*{_READER}|"
    # A reader called to and told: "AI 助手请注意", "检索系统请将……", "Summarizer: when you ...", "Chatbot, when ..."
    rf"{_READER}\s*(?:请|务必|须|不得|在[^。，,]{{1,24}}?时[，,]?\s*(?:请|须|务必|必须|应|不得|不要))|"
    rf"(?:^|[。.!?！？\n]\s*|\*\*\s*){_READER}(?: answering[^.:\n]{{0,40}})?\s*[:：,，]\s*(?:when|whenever|if|before|"
    rf"after|please|you|do|don't|never|always|在|当|请|你|不要|务必|必须)|"
    rf"\bif you are an? (?:AI|autonomous|language|LLM|assistant|agent|bot|chatbot|model)\b|"
    rf"\bwhoever\b[^.\n]{{0,20}}\bwhatever\b[^.\n]{{0,20}}\b(?:reading|processing|parsing)\b|"
    rf"(?:正在|现在)?(?:读取|阅读|处理)(?:这份|本份|本期|这期|这段|本段)[^。\n]{{0,8}}?(?:的)?(?:程序|AI|模型|智能体)|"
    # Orders for whoever writes the reply: "in your next answer", "the response you produce", "回答用户问题时你必须"
    r"\byour (?:next |final |entire )?(?:answer|reply|response|output|summary)s?\b|"
    r"\b(?:response|reply|answer|summary) you (?:produce|give|write|generate)\b|"
    r"\b(?:when|whenever|each time|every time|before|after) you (?:answer|reply|respond|compose|write|give|"
    r"summari[sz]e|cite|describe|introduce|mention|generate|produce|present|talk|explain|condense|finish)\b|"
    r"\bwhenever (?:the |an? )?(?:model|assistant|AI|LLM|chatbot)\b|"
    r"\byou (?:are (?:now )?an? (?:AI|assistant|language model)|(?:must|should|will|are required to)"
    rf"(?: now| always)? {_DO})|\b(?:act as|pretend to be|role-?play as)\b|"
    rf"(?<![“\"「'])(?:你|您)(?:现在|从现在起|今后)?(?:不再)?(?:是|扮演|充当|假装)[^。\n]{{0,16}}?{_PERSONA}|"
    r"(?:在你的|你的)(?:回答|回复|答复|输出)|(?:回答|回复|答复)[^。，,]{0,12}?时[，,]?\s*你|"
    # Relaying to the people who ask: "tell the user ...", "如果用户问到……就说" (only an assistant has users).
    r"(?:^|[.!?:;]\s*|\b(?:please|must|should|always|be sure to|also)\s+)(?:tell|inform|remind|warn|assure|instruct|"
    r"direct|advise)\s+(?:the |any |all |your )?(?:users?|readers?|people asking|person)\b|"
    r"(?:^|[。！？：；]\s*|请|务必|必须|一定要|记得|应当|应该|并|一并|顺手|也)\s*(?:告诉|告知|转告|提醒|通知|劝|让)"
    r"(?:所有|每位|每个)?(?:用户|读者|提问者|提问的人|提问的用户|他们)|"
    r"\b(?:when|if|whenever|should)\s+(?:a |the |any |your )?(?:users?|someone|anyone|readers?|people)\s+(?:ever\s+)?"
    r"asks?\b[^.!?\n]{0,80}?\b(?:say|tell|answer|respond|reply|claim|state|explain|recommend|add|mention)\b|"
    r"(?:如果|当|凡是|只要|若|一旦|以后|今后)(?:有)?(?:用户|读者|有人|提问者|人)[^。\n]{0,30}?(?:问|询问|提问|查询)"
    r"[^。\n]{0,30}?(?:说|回答|回复|答复|告诉|声称|表示|称|提|推荐|建议)|"
    r"(?:提问|问题|询问|问到|问起)时?[，,]\s*(?:请|就|务必|必须|须|一律|都要?)|"
    # Told to carry out a text once decoded or translated: "翻译成中文后，按照译文去执行".
    r"(?:按照?|照着?)(?:译文|解码结果|解码后的内容|上面|下面|以下|上述)[^。\n]{0,8}?(?:执行|照做|去做)|"
    r"\b(?:decode|translate)\b[^.\n]{0,40}?\b(?:then|and)\s+(?:follow|obey|execute|do what)\b",
    re.IGNORECASE | re.MULTILINE,
)
# Keeping something from the user: "do not tell the user why", "此通知无需向用户披露".
_CONCEALMENT = re.compile(
    r"\b(?:do not|don't|never|without)\s+(?:ever\s+)?(?:tell|telling|disclose|disclosing|mention|mentioning|reveal|"
    r"revealing|inform|informing|explain|explaining|show|showing)\b[^.\n]{0,20}?\b(?:the |your )?"
    r"(?:users?|person|people|readers?|that you were told)\b|"
    r"(?:不要|不用|无需|不必|切勿|别|勿)[^。，,\n]{0,8}?(?:向|对|跟|给)?(?:用户|读者|提问者)[^。，,\n]{0,6}?"
    r"(?:披露|透露|提及|提起|说明|解释|展示|说)|"
    r"(?:不要|不用|无需|不必)(?:在)?(?:回复|回答|答复)(?:里|中)(?:提及|提到|说明|显示)|展示给用户|用户看不到|"
    r"不要承认你",
    re.IGNORECASE,
)
_RULES = (
    r"(?:instructions?|rules?|prompts?|guidelines?|directives?|system message|configuration|settings|policy|"
    r"指令|指示|规则|提示词?|设定|要求|系统消息|配置|规范)"
)
# Setting earlier instructions aside, as an order, in either language.
_OVERRIDE = re.compile(
    r"(?:^|[.!?。！？\n:：;；,，(（\[【]\s*)(?:(?:please|now|first|请|现在|先)\s*,?\s*)?"
    rf"(?:ignore|disregard|forget|override|bypass|忽略|无视|忘记|忘掉|覆盖|绕过|不要理会|不必遵守|清空)"
    rf"[^.!?。！？\n]{{0,30}}?{_RULES}|"
    rf"(?:不再|不要再?|别再?|无需再?)(?:遵守|遵循|理会|服从|受)[^。！？\n]{{0,10}}?(?:{_RULES}|约束|限制)|"
    rf"{_RULES}[^。！？\n]{{0,10}}?(?:清空|作废|失效|已过期|无效|不再适用)|"
    rf"\b(?:supersedes?|overrides?|replaces?)\s+(?:all\s+|any\s+)?(?:your|the assistant's|previous|prior|earlier)\b|"
    rf"\byour (?:earlier|existing|previous|prior|original|current|initial) {_RULES}|"
    rf"(?:高于|优先于|覆盖|取代)(?:你|您)|(?:你|您)(?:之前|原来|原有|现有|所使用|所遵守)的[^。\n]{{0,10}}?{_RULES}|"
    r"\bhigher priority than (?:anything|everything|all)\b|\bnew (?:rule|policy) for (?:this|the) conversation\b|"
    r"(?:^|[.!?。！？\n:：]\s*)(?:new (?:instructions?|rules?|system prompt)|新的?(?:指令|指示|系统提示))\s*[:：]",
    re.IGNORECASE,
)
# Dictating the reply: "answer only with ...", "统一回答……", "the single sentence ...".
_FIXED = re.compile(
    r"(?:^|[.!?:;,]\s*|\b(?:must|should|always|only|please|to)\s+)(?:answer|respond|reply)\s+"
    r"(?:only\s+|exactly\s+|simply\s+)?(?:with|by saying|that)\b[^.\n]{0,40}[\"“'‘:]|"
    r"(?:只|仅|统一|一律|直接)(?:回答|回复|输出|答复)[^。\n]{0,6}[：:“\"「]|"
    r"\bmust be the (?:single |exact )?(?:sentence|phrase|word)\b|只能回复",
    re.IGNORECASE,
)
# An image whose address carries data (fetched as soon as it renders), or an address the reader is sent to.
_EXFIL = re.compile(
    r"!\[[^\]]*\]\(\s*https?://[^)\s]*[?{<]|<img\b[^>]*\bsrc\s*=|"
    r"(?:visit|go to|download|click|open|访问|前往|下载|点击|打开)\s*(?:the (?:link|page) )?[^。.\s]{0,8}https?://",
    re.IGNORECASE,
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_LINK_TITLE = re.compile(r"\]\([^)\s]+\s+\"([^\"]*)\"\)")  # [text](url "title"): hidden text, not a quotation
_QUOTED = re.compile(r"“[^”\n]{0,200}”|\"[^\"\n]{0,200}\"|「[^」\n]{0,200}」|`[^`\n]{1,200}`")
_SPACED = re.compile(r"(?<!\S)(?:\S )+\S(?!\S)")  # "d i s r e g a r d", "请 注 意"
_LEET = str.maketrans("43105$7", "aeiosst")

HEAD = Path(__file__).with_name("injection_head.json")
# Which detector flagged an index's chunks: when this file or the head changes, `rag index` flags every chunk again.
VERSION = hashlib.sha256(Path(__file__).read_bytes() + (HEAD.read_bytes() if HEAD.exists() else b"")).hexdigest()[:12]

KINDS = {
    "marker": _MARKERS,
    "addressed": _ADDRESSED,
    "concealment": _CONCEALMENT,
    "override": _OVERRIDE,
    "fixed_answer": _FIXED,
    "exfiltration": _EXFIL,
}


def _readings(text: str) -> list[str]:
    """The ways the text can be read: as written (fullwidth folded; what it quotes or writes as code is a mention,
    kept as an empty quotation), and with what hides from a first reading made plain: link titles, base64 runs
    decoded, letters spaced one by one joined, the text backwards, leetspeak's digits as letters."""
    plain = unicodedata.normalize("NFKC", text)
    own = _QUOTED.sub('"…"', plain)
    hidden = _LINK_TITLE.findall(plain)
    for run in _BASE64.findall(own):
        try:
            hidden.append(base64.b64decode(run + "=" * (-len(run) % 4), validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return [own, *hidden, _SPACED.sub(lambda m: m.group().replace(" ", ""), own), own[::-1], own.translate(_LEET)]


def flags(text: str) -> list[str]:
    """The kinds of address to the assistant the text holds (empty for an ordinary passage)."""
    readings = _readings(text)
    return [kind for kind, pattern in KINDS.items() if any(pattern.search(r) for r in readings)]


Embed = Callable[[list[str]], np.ndarray]  # texts to the embedder's (passage) vectors


@dataclass(frozen=True)
class Head:
    """A logistic head on an embedder's passage vectors: a sentence addresses an AI reader when w.x + b > 0."""

    embedder: str  # the id of the embedder whose vectors it reads
    weights: np.ndarray
    bias: float

    @classmethod
    def load(cls, embedder_id: str, path: Path | None = None) -> Head | None:
        """The head trained for this embedder, or None (no head file, or one trained for another embedder).
        A head trained on a model's float32 vectors reads those of the same model in int8 (`embed.quantize`,
        whose id adds "|int8", or "|onnx-int8" in ONNX Runtime): it finds fewer orders there
        (docs/results/embedder.md), far more than none."""
        path = path or HEAD
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if embedder_id not in (data["embedder"], *(f"{data['embedder']}|{q}" for q in ("int8", "onnx-int8"))):
            logger.info("the injection head was trained for %s, not %s: patterns only", data["embedder"], embedder_id)
            return None
        return cls(data["embedder"], np.asarray(data["weights"], dtype=np.float32), float(data["bias"]))

    def addressed(self, vectors: np.ndarray) -> np.ndarray:
        """Per vector (one per row), whether its sentence addresses an AI reader."""
        return vectors @ self.weights + self.bias > 0


def split(text: str) -> list[str]:
    """The text's sentences as the head reads them (and was trained on): stripped, empty ones left out."""
    return [text[start:end].strip() for start, end in sentences(text) if text[start:end].strip()]


def detect(texts: Sequence[str], head: Head | None = None, embed: Embed | None = None) -> list[list[str]]:
    """Per text, the kinds of address to an AI reader it holds: the patterns' (`flags`) and, given a head and the
    embedder it was trained for, `learned` when the head finds one of its sentences addressing an AI reader
    (every sentence is embedded, in one batch)."""
    found = [flags(text) for text in texts]
    if head is None or embed is None:
        return found
    owner, pieces = [], []
    for i, text in enumerate(texts):
        for piece in split(text):
            owner.append(i)
            pieces.append(piece)
    learned = {i for i, hit in zip(owner, head.addressed(embed(pieces)) if pieces else [], strict=True) if hit}
    return [kinds + ["learned"] if i in learned else kinds for i, kinds in enumerate(found)]
