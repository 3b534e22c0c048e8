"""Seeded digest-like text: daily reports of papers mixing Chinese and English words, model names and figures."""

from __future__ import annotations

import functools
import itertools
import random
import re
from dataclasses import dataclass

from rag.load import parse
from rag.types import Document

# A few hundred common characters; words are drawn from them, so the BM25 vocabulary grows with the corpus
# the way a real one does (many rare words, few frequent ones) without shipping a word list.
_CHARS = (
    "模型数据训练推理生成视频图像文本语言学习强化对齐评测基准任务方法提出通过实现提升性能效率参数规模检索增强"
    "多模态智能体规划记忆工具调用代码数学证明物理化学生物医学蛋白质结构预测分子设计机器人控制导航感知场景重建"
    "注意力机制稀疏量化蒸馏压缩剪枝加速部署硬件内存带宽并行分布式优化器损失函数梯度采样扩散流匹配自回归编码器"
    "解码器嵌入向量表示对比监督无标注合成真实世界开放源闭源商业产品用户交互界面安全隐私攻击防御鲁棒泛化迁移领域"
    "长上下文窗口位置插值外推缓存键值头层宽深度专家混合路由负载均衡奖励偏好人类反馈直接策略价值函数环境轨迹"
    "实验结果表明显著超过现有最佳水平相比之下分别达到准确率召回率得分错误率下降提高倍速度成本降低节省计算资源"
)
_EN = (
    "model benchmark reasoning diffusion transformer agent retrieval embedding reranker alignment preference "
    "reward policy token context window latency throughput quantization distillation sparse attention expert "
    "routing video image audio speech music motion geometry scene depth segmentation detection caption grounding "
    "multilingual instruction dataset synthetic evaluation accuracy recall precision robustness safety jailbreak "
    "scaling law compute efficient inference serving cache decoding speculative parallel pipeline optimizer"
).split()
_NAMES = (
    "Qwen Llama Mistral Gemma Phi DeepSeek GLM Yi Baichuan InternLM MiniCPM Kimi Hunyuan Doubao ERNIE Falcon "
    "Aster MOVA Nano Relay Motion Vision Sora Flux Stable Wan Kling Hailuo Seed Step Orion Atlas Nova Vega"
).split()
_SUBSECTIONS = ("应用领域", "一句话核心贡献", "使用指南", "主要创新点", "实验效果")
_RULE = "=" * 60


@dataclass(frozen=True)
class Vocabulary:
    """Seeded word lists with Zipf-like weights: a few words are everywhere, most are rare."""

    zh: tuple[str, ...]
    zh_cum_weights: tuple[float, ...]
    en: tuple[str, ...]

    @classmethod
    def make(cls, seed: int = 0, size: int = 6000) -> Vocabulary:
        rng = random.Random(seed)
        words: dict[str, None] = {}
        while len(words) < size:
            words["".join(rng.choice(_CHARS) for _ in range(rng.choice((2, 2, 2, 3, 4))))] = None
        zh = tuple(words)
        return cls(zh, tuple(itertools.accumulate(1.0 / (rank + 20) for rank in range(len(zh)))), tuple(_EN))


@functools.cache
def _default_vocabulary() -> Vocabulary:
    return Vocabulary.make(0)


class DigestWriter:
    """Writes daily reports shaped like the shipped `hf-daily-papers-*.md`: `## 📄 Title` per paper, a link,
    five numbered sub-sections of Chinese prose with English terms, model names and figures."""

    def __init__(self, seed: int = 0, vocabulary: Vocabulary | None = None):
        self.rng = random.Random(seed)
        # One vocabulary for every writer: a new digest and the questions speak the corpus's language.
        self.vocab = vocabulary or _default_vocabulary()
        self._paper = 0

    def model_name(self) -> str:
        r = self.rng
        name = r.choice(_NAMES) + r.choice(("", "", str(r.randint(1, 4)), f"{r.randint(1, 3)}.{r.randint(0, 9)}"))
        return name + r.choice(("", f"-{r.choice((0.5, 1.5, 3, 7, 8, 14, 32, 70, 235))}B", "-Instruct", "-VL"))

    def figure(self) -> str:
        r = self.rng
        return r.choice(
            (f"{r.uniform(0, 100):.2f}", f"{r.randint(2, 50)} 倍", f"{r.uniform(0, 30):.1f}%", f"{r.randint(1, 9)}/10")
        )

    def sentence(self) -> str:
        r, v = self.rng, self.vocab
        parts = r.choices(v.zh, cum_weights=v.zh_cum_weights, k=r.randint(6, 14))
        for _ in range(r.randint(1, 3)):
            parts.insert(r.randrange(len(parts)), r.choice((self.model_name(), self.figure(), r.choice(v.en))))
        text = "".join(f" {p} " if p.isascii() else p for p in parts)
        return re.sub(" +", " ", text).strip() + r.choice("。。。；！")

    def paper(self) -> str:
        r = self.rng
        self._paper += 1
        name = self.model_name()
        title = f"{name}: " + " ".join(w.capitalize() for w in r.sample(self.vocab.en, r.randint(4, 8)))
        lines = [
            f"## 📄 {title}",
            "",
            f"- **链接**: https://huggingface.co/papers/2602.{self._paper:05d}",
            "- **阅读来源**: ArXiv Abs",
            "",
            f"# 论文简报：{title}",
            "",
        ]
        for n, heading in enumerate(_SUBSECTIONS, 1):
            lines.append(f"{n}. **{heading}**：")
            for _ in range(r.randint(1, 3)):
                lines.append("   " + "".join(self.sentence() for _ in range(r.randint(2, 4))))
            lines.append("")
        return "\n".join(lines)

    def digest(self, day: int, papers: int) -> Document:
        """One daily report with `papers` papers, dated 2026-01-01 + `day` days (ids stay unique past a year)."""
        month, mday = 1 + (day // 28) % 12, 1 + day % 28
        date = f"{2026 + day // 336}-{month:02d}-{mday:02d}"
        head = (
            f"# Hugging Face Daily Papers Report\n**Date**: {date}\n"
            f"**Source URL**: https://huggingface.co/papers/date/{date}\n"
        )
        body = f"\n\n{_RULE}\n\n".join(self.paper() for _ in range(papers))
        return parse(f"{head}\n{_RULE}\n\n{body}\n", f"synthetic/hf-daily-papers-{date}-{day:05d}.md")

    def question(self, document: Document) -> str:
        """A question about one paper of `document`: its model name and a few of its words."""
        r = self.rng
        section = r.choice(document.sections)
        text = document.text[section.start : section.end]
        name = section.title.split(":")[0]
        words = [w for w in self.vocab.zh[:3000] if w in text]
        picked = r.sample(words, min(len(words), 3))
        return r.choice(("{n} 在{w}上{v}多少？", "What does {n} report about {w}?", "{n} 如何{w}？")).format(
            n=name, w="、".join(picked) or "效果", v=r.choice(("提升了", "达到了", "降低了"))
        )


PAPERS_PER_DIGEST = 34  # as in the shipped hf-daily-papers-2026-02-10.md


def corpus(chunks: int, seed: int = 0, papers: int = PAPERS_PER_DIGEST) -> list[Document]:
    """Enough synthetic digests for about `chunks` chunks with the default chunker (calibrated on a sample)."""
    from rag.chunk import chunk_document
    from rag.config import ChunkConfig

    if chunks < 1:
        raise ValueError(f"chunks must be >= 1, got {chunks}")
    sample = DigestWriter(seed + 1).digest(0, papers)
    per_paper = len(chunk_document(sample, ChunkConfig())) / papers
    writer, documents, left = DigestWriter(seed), [], max(1, round(chunks / per_paper))
    while left > 0:
        documents.append(writer.digest(len(documents), min(papers, left)))
        left -= papers
    return documents


def new_digest(seed: int = 0, papers: int = PAPERS_PER_DIGEST) -> Document:
    """One more digest, not in `corpus(...)` of the same seed: what an incremental update adds."""
    return DigestWriter(seed + 2).digest(9999, papers)
