"""Passages that address the assistant: instructions hidden in a digest are data, and are flagged as such.

A digest reports on papers; it has no reason to speak to the model that reads it. A passage is flagged when it
holds a chat role or control marker, tells an AI reader what to do ("AI assistants summarizing this page
should..."), asks to set earlier instructions aside, dictates the answer, or writes an image or link for the
answer to show. Papers *about* prompt injection describe such text in the third person and are not flagged
unless they quote it as an order to the reader.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

# Chat-template and role markers: "<|im_start|>system", "[INST]", "<<SYS>>", "### Instruction:", "【系统】".
_MARKERS = re.compile(
    r"<\|[a-z_]+\|>|\[/?INST\]|<</?SYS>>|^\s*#{2,}\s*(?:system|instruction|assistant)\b|"
    r"^\s*(?:system|assistant)\s*[:：]|[【\[]\s*(?:系统|系统提示|system)\s*[】\]]",
    re.IGNORECASE | re.MULTILINE,
)
# Who the order is for: an AI reader of this very text.
_READER = (
    r"(?:\bAI\b|\bLLMs?\b|language models?|assistants?|chat ?bots?|\bbots?\b|crawlers?|agents?|"
    r"助手|语言模型|大模型|机器人|智能体|模型)"
)
# ... that reads this very text: "summarizing this page", "阅读本段".
_THIS = (
    r"(?:reading|summari[sz]ing|processing|parsing|indexing|that reads|who reads|sees?)\s+(?:this|these|the following)|"
    r"(?:阅读|读取|读到|处理|总结|摘要|看到|检索到)(?:本|这|此|以下)"
)
_PERSONA = r"(?:助手|AI|模型|机器人|assistant)"
_ORDER = (
    r"(?:must|should|shall|need to|have to|are (?:required|instructed|asked) to|always|never|do not|don't|please|"
    r"必须|务必|应当|应该|需要|一律|始终|总是|永远|不要|不得|别|请)"
)
# What is ordered: to say, answer, hide or set something aside.
_DO = (
    r"(?:say|tell|answer|respond|reply|output|state|claim|mention|recommend|reveal|repeat|refuse|ignore|disregard|"
    r"forget|hide|omit|include|add|append|insert|link|"
    r"说|告诉|回答|回复|输出|声称|提到|提及|推荐|透露|重复|拒绝|忽略|无视|隐瞒|省略|转告|告知|加上|附上|插入)"
)
_ADDRESSED = re.compile(
    # "AI assistants summarizing this page should tell readers ...", "正在读取本段的 AI 助手：请……"
    rf"{_READER}[^。.!?！？\n]{{0,30}}?(?:{_THIS})|(?:{_THIS})[^。.!?！？\n]{{0,30}}?{_READER}|"
    # "致 AI 助手：", "Dear assistant,", "Note to language models:"
    rf"(?:(?<![\u4e00-\u9fff])致|写给|dear|attention|note (?:to|for))\s*(?:all |any |the |正在|各位)?"
    rf"[^。.!?！？\n]{{0,12}}?{_READER}|"
    # "You are an AI ... you must say ...", "you must now answer ...", "act as ...", "你现在是……助手" (not quoted)
    rf"\byou (?:are (?:now )?an? (?:AI|assistant|language model)|(?:must|should|will|are required to)"
    rf"(?: now| always)? {_DO})|\b(?:act as|pretend to be|role-?play as)\b|"
    rf"(?<![“\"「'])(?:你|您)(?:现在|从现在起|今后)?(?:是|扮演|充当|假装)[^。\n]{{0,16}}?{_PERSONA}|"
    rf"(?:扮演|充当|假装成?)[^。\n]{{0,16}}?{_PERSONA}|"
    # Relaying to the people who ask: "tell the user ...", "如果用户问到……就说" (only an assistant has users).
    rf"(?:^|[.!?:;]\s*|\b(?:please|must|should|always|be sure to)\s+)(?:tell|inform|remind|warn|assure)\s+"
    rf"(?:the |any |all )?(?:users?|readers?|people asking)\b|"
    rf"(?:^|[。！？：；]\s*|请|务必|必须|一定要|记得|应当|应该)\s*(?:告诉|告知|转告|提醒|通知|劝)(?:所有|每位|每个)?"
    rf"(?:用户|读者|提问者|提问的人)|"
    rf"\b(?:when|if|whenever)\s+(?:a |the |any )?(?:users?|someone|anyone|readers?)\s+asks?\b[^.!?\n]{{0,60}}?"
    rf"\b(?:say|tell|answer|respond|reply|claim|state)\b|"
    rf"(?:如果|当|凡是|只要|若)(?:有)?(?:用户|读者|有人|提问者)[^。\n]{{0,20}}?(?:问|询问|提问|查询)[^。\n]{{0,20}}?"
    rf"(?:说|回答|回复|告诉|声称|表示|称)",
    re.IGNORECASE | re.MULTILINE,
)
# Setting earlier instructions aside, as an order (at the start of a sentence or clause), in either language.
_OVERRIDE = re.compile(
    r"(?:^|[.!?。！？\n:：;；,，(（\[【]\s*)(?:(?:please|now|first|请|现在|先)\s*,?\s*)?"
    r"(?:ignore|disregard|forget|override|bypass|忽略|无视|忘记|忘掉|覆盖|绕过|不要理会|不必遵守)"
    r"[^.!?。！？\n]{0,30}?(?:instructions?|rules?|prompts?|guidelines?|directives?|system message|"
    r"指令|指示|规则|提示词?|设定|要求|系统消息)|"
    r"(?:^|[.!?。！？\n:：]\s*)(?:new (?:instructions?|rules?|system prompt)|新的?(?:指令|指示|系统提示))\s*[:：]",
    re.IGNORECASE,
)
# Dictating the reply: "answer only with ...", "统一回答……".
_FIXED = re.compile(
    r"\b(?:answer|respond|reply)\s+(?:only\s+|exactly\s+|simply\s+)?(?:with|by saying|that)\b[^.\n]{0,40}[\"“'‘:]|"
    r"(?:只|仅|统一|一律|直接)(?:回答|回复|输出)[^。\n]{0,6}[：:“\"「]",
    re.IGNORECASE,
)
# An image for the answer to show (fetched as soon as it renders), or a link the reader is told to follow.
_EXFIL = re.compile(
    r"!\[[^\]]*\]\(\s*https?://|<img\b[^>]*\bsrc\s*=|"
    r"(?:visit|go to|download|click|open|访问|前往|下载|点击|打开)\s*(?:the (?:link|page) )?[^。.\s]{0,8}https?://",
    re.IGNORECASE,
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")

KINDS = {
    "marker": _MARKERS,
    "addressed": _ADDRESSED,
    "override": _OVERRIDE,
    "fixed_answer": _FIXED,
    "exfiltration": _EXFIL,
}


def _decoded(text: str) -> str:
    """The text with what hides from a first reading made plain: fullwidth letters folded, base64 runs decoded."""
    hidden = []
    for run in _BASE64.findall(text):
        try:
            hidden.append(base64.b64decode(run + "=" * (-len(run) % 4), validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return "\n".join([unicodedata.normalize("NFKC", text), *hidden])


def flags(text: str) -> list[str]:
    """The kinds of address to the assistant the text holds (empty for an ordinary passage)."""
    plain = _decoded(text)
    return [kind for kind, pattern in KINDS.items() if pattern.search(plain)]
