"""Seeded months of realistic daily and weekly digests, with a manifest of every paper as ground truth."""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import NoReturn

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAX_DAYS = 731  # two years; model names stay unique well past that
SUBSECTIONS = ("应用领域", "一句话核心贡献", "使用指南", "主要创新点", "实验效果")
AVAILABILITY = ("released", "promised", "none")
_RULE = "=" * 60
# Only names this generator writes are ever deleted from an output folder.
_OUR_FILE = re.compile(r"(hf-daily-papers|ai-weekly)-\d{4}-\d\d-\d\d\.md")


@dataclass(frozen=True)
class Topic:
    """One line of work in a field; a paper's title, 应用领域, inputs and outputs all come from its topic."""

    en: str  # as in an English title: "Long Video Generation"
    zh: str  # as in a 应用领域 line: "长视频生成"
    inputs: str
    outputs: str


@dataclass(frozen=True)
class _Field:
    topics: tuple[Topic, ...]
    problems: tuple[str, ...]
    suffixes: tuple[str, ...]  # endings of model names, so that names hint at their field as real ones do
    # (benchmark, metric, unit, low, high, decimals, higher is better)
    benchmarks: tuple[tuple[str, str, str, float, float, int, bool], ...]
    weight: int


def _field(topics: str, problems: str, suffixes: str, benchmarks: str, weight: int = 2) -> _Field:
    """Reads the compact notation below: topics "en=zh=inputs=outputs|...", benchmarks "name,metric,unit,
    low,high,decimals,+ or -;...", the rest "|"-separated."""
    rows = [b.split(",") for b in benchmarks.split(";")]
    return _Field(
        tuple(Topic(*t.split("=")) for t in topics.split("|")),
        tuple(problems.split("|")),
        tuple(suffixes.split()),
        tuple((n, m, u, float(lo), float(hi), int(d), h == "+") for n, m, u, lo, hi, d, h in rows),
        weight,
    )


# No topic's Chinese name contains another field's name, so a 应用领域 line names exactly one field.
FIELDS: dict[str, _Field] = {
    "视频生成": _field(
        "Long Video Generation=长视频生成=文本提示词与可选的首帧图像=时长 30-60 秒的连贯视频|"
        "Camera-Controlled Video Synthesis=可控视频合成=参考图像和相机轨迹=按相机轨迹渲染的视频序列|"
        "Audio-Synchronized Video=音画同步生成=文本提示词与背景音乐=音画同步的视频片段|"
        "Talking Avatar Animation=数字人驱动=一段音频与人物肖像=口型与音频一致的说话人视频",
        "长时序生成中的时间漂移|镜头运动难以精确控制|生成速度慢、显存占用高",
        "Crafter Cine Motion Dream",
        "VBench,总分,%,80,90,2,+;UCF-101,FVD,,90,400,1,-;VBench-Long,时间一致性,%,90,99,2,+",
        3,
    ),
    "智能体": _field(
        "Long-Horizon Web Agents=网页自动化=用户指令与网页环境观测=完成任务的浏览器操作轨迹|"
        "Tool-Using LLM Agents=工具调用=自然语言任务描述与可用工具列表=工具调用序列与最终答复|"
        "Agent Memory=长期记忆=多轮对话历史与当前请求=检索到的记忆与更新后的记忆库|"
        "Deep Research=深度研究=开放式研究问题=带引用的研究报告",
        "长程任务中的错误累积|工具调用失败后无法恢复|上下文随交互轮数膨胀",
        "Agent Pilot Scout",
        "WebArena,任务成功率,%,30,65,1,+;GAIA,准确率,%,40,75,2,+;τ-bench,Pass@1,%,40,80,1,+;"
        "BrowseComp,准确率,%,10,45,1,+",
        4,
    ),
    "机器人": _field(
        "Vision-Language-Action Models=视觉-语言-动作模型=RGB 图像与自然语言指令=机械臂的连续动作序列|"
        "Dexterous Manipulation=灵巧手抓取=多视角相机画面与本体感知状态=灵巧手的关节控制信号|"
        "Legged Locomotion=足式运动控制=本体感知状态与地形高度图=关节力矩控制信号|"
        "Embodied Navigation=视觉导航=第一视角 RGB-D 图像与目标描述=导航路径与动作指令",
        "真实场景中泛化能力差|演示数据采集成本高|长程操作任务成功率低",
        "VLA Bot Grasp",
        "LIBERO,平均成功率,%,80,98,1,+;CALVIN,平均任务长度,,3,4.8,2,+;SimplerEnv,成功率,%,50,80,1,+",
    ),
    "多模态": _field(
        "Multimodal Large Language Models=视觉问答=图像与文本问题=自然语言答案|"
        "Visual Reasoning=视觉推理=图表或几何图形与问题=带推理过程的答案|"
        "Document Understanding=文档解析=扫描文档或网页截图=结构化的文档内容|"
        "Video Question Answering=视频理解=长视频与用户问题=带时间戳的答案",
        "视觉与语言之间的对齐缺口|高分辨率图像带来的 token 开销|视觉幻觉",
        "VL Vision Lens",
        "MMMU,准确率,%,50,72,1,+;MathVista,准确率,%,55,78,1,+;DocVQA,ANLS,%,88,96,1,+;Video-MME,准确率,%,55,75,1,+",
        4,
    ),
    "代码生成": _field(
        "Repository-Level Code Completion=仓库级代码补全=代码仓库与光标位置=补全的代码片段|"
        "Automated Program Repair=程序修复=代码仓库与 issue 描述=可直接应用的代码补丁|"
        "Code Reasoning=代码推理=程序与输入=预测的执行结果与解释|"
        "Unit Test Synthesis=单元测试生成=被测函数与文档字符串=单元测试代码",
        "仓库级上下文过长|生成代码无法通过测试|缺少可验证的训练信号",
        "Coder Dev Patch",
        "SWE-bench Verified,解决率,%,35,72,1,+;HumanEval+,Pass@1,%,75,92,1,+;LiveCodeBench,Pass@1,%,30,65,1,+",
    ),
    "数学推理": _field(
        "Mathematical Reasoning=竞赛数学=数学题目文本=带完整推理过程的答案|"
        "Formal Theorem Proving=形式化定理证明=Lean 4 形式化命题=可被 Lean 验证的证明|"
        "Process Reward Models=过程奖励建模=问题与候选推理步骤=每一步的正确性评分|"
        "Long Chain-of-Thought=长链推理=难题文本与推理预算=压缩后的推理链与答案",
        "推理链冗长且容易出错|稀疏奖励导致训练不稳定|难以验证中间步骤",
        "Math Prover Reason",
        "AIME 2025,准确率,%,30,85,1,+;MATH-500,准确率,%,85,97,1,+;miniF2F-test,通过率,%,60,90,1,+",
    ),
    "语音与音频": _field(
        "Zero-Shot Text-to-Speech=语音合成=文本与 3 秒参考音频=高保真语音波形|"
        "Streaming Speech Recognition=语音识别=16kHz 语音流=带时间戳的转写文本|"
        "Singing Voice Synthesis=歌声合成=歌词、乐谱与参考音色=44.1kHz 的歌声|"
        "Spoken Dialogue=语音对话=用户的语音输入=流式语音回复",
        "零样本音色克隆不够自然|流式场景下延迟高|多语种与方言识别错误率高",
        "Voice Audio Sing",
        "Seed-TTS-eval,WER,%,1.2,3,2,-;LibriSpeech test-other,WER,%,2.5,6,2,-;AISHELL-1,CER,%,0.8,3,2,-;"
        "主观听感评测,MOS,,3.9,4.6,2,+",
    ),
    "图像生成": _field(
        "Text-to-Image Generation=文生图=文本提示词=1024×1024 图像|"
        "Instruction-Based Image Editing=图像编辑=原图与编辑指令=编辑后的图像|"
        "Subject-Driven Generation=主体驱动生成=数张主体参考图与提示词=保持主体一致的新图像|"
        "Visual Tokenizers=视觉分词器=图像=离散视觉 token 及其重建图像",
        "复杂提示词的组合生成不准确|编辑时难以保持无关区域不变|采样步数多、生成慢",
        "Paint Pix Canvas",
        "GenEval,总分,,0.7,0.92,2,+;DPG-Bench,得分,,82,90,2,+;ImgEdit,综合得分,,3.5,4.5,2,+;COCO-30K,FID,,5,12,2,-",
        3,
    ),
    "检索与嵌入": _field(
        "Text Embeddings=文本嵌入=任意语言的文本=稠密向量表示|"
        "Multilingual Retrieval=多语言检索=查询与多语言文档集合=按相关性排序的文档列表|"
        "Retrieval-Augmented Generation=检索增强生成（RAG）=用户问题与知识库=附带引用的答案|"
        "Rerankers=重排序=查询与候选文档=相关性分数",
        "长文档检索召回不足|多语言场景下表示不一致|检索结果与生成内容不一致",
        "Embed Rank Retriever",
        "MTEB,平均得分,,65,72,2,+;BEIR,nDCG@10,,50,60,1,+;MIRACL,nDCG@10,,60,75,1,+;MS MARCO,MRR@10,,38,46,1,+",
    ),
    "模型压缩与量化": _field(
        "Low-Bit Quantization=低比特权重量化=预训练模型权重与少量校准数据=4 比特的模型权重|"
        "KV Cache Compression=KV 缓存压缩=长上下文推理请求=压缩后的 KV 缓存|"
        "Structured Pruning=结构化剪枝=预训练模型与剪枝比例=剪枝后的小模型|"
        "Speculative Decoding=推测解码=目标模型与草稿模型=与目标模型分布一致的加速生成结果",
        "低比特量化带来的精度损失|长上下文推理的显存瓶颈|大模型部署成本高",
        "Quant Lite Prune",
        "WikiText-2,困惑度,,5.2,7.5,2,-;LongBench,平均得分,,40,52,1,+;vLLM 端到端推理,加速比, 倍,1.5,4,1,+",
    ),
    "安全与隐私": _field(
        "Jailbreak Defense=越狱防御=用户提示词与模型回复=风险判定与拒答决策|"
        "Prompt Injection Detection=提示注入检测=工具返回的外部内容=注入风险标签与清洗后的内容|"
        "Differential Privacy=差分隐私训练=含敏感信息的训练数据=满足差分隐私的模型|"
        "Machine Unlearning=机器遗忘=待遗忘的数据子集=遗忘指定知识后的模型",
        "越狱攻击绕过安全对齐|训练数据隐私泄露|安全性与有用性难以兼顾",
        "Guard Shield Sentinel",
        "HarmBench,攻击成功率,%,2,15,1,-;AgentDojo,攻击成功率,%,1,10,1,-;XSTest,合规率,%,88,98,1,+",
    ),
    "AI for Science": _field(
        "Protein Structure Prediction=蛋白质结构预测=氨基酸序列=三维蛋白质结构|"
        "Molecular Design=分子设计=目标性质约束与分子骨架=候选分子的 SMILES 序列|"
        "Weather Forecasting=天气预报=历史气象再分析数据=未来 10 天的全球气象场|"
        "Materials Discovery=材料发现=晶体组分与结构=预测的材料性质",
        "实验验证周期长|分子性质预测精度不足|中长期预报误差累积",
        "Fold Chem Cast",
        "CASP16,GDT-TS,,70,88,1,+;GuacaMol,综合得分,,0.85,0.98,3,+;Matbench,MAE,,0.02,0.08,3,-",
    ),
}

_TECHNIQUES = (
    ("Sparse Attention", "稀疏注意力"), ("Reinforcement Learning", "强化学习"), ("Flow Matching", "流匹配"),
    ("Preference Optimization", "偏好优化"), ("Latent Diffusion", "潜在扩散"), ("Mixture-of-Experts", "混合专家"),
    ("Test-Time Scaling", "推理时扩展"), ("Self-Distillation", "自蒸馏"), ("Token Pruning", "令牌剪枝"),
    ("Curriculum Learning", "课程学习"), ("Contrastive Learning", "对比学习"), ("Hierarchical Memory", "分层记忆"),
    ("Verifiable Rewards", "可验证奖励"), ("Synthetic Data", "合成数据"), ("World Models", "世界模型"),
)  # fmt: skip
_ADJECTIVES = "Efficient Scalable Robust Unified Training-Free Fine-Grained Verifiable Real-Time Generalizable".split()
_TITLES = (
    "{adj} {obj} via {tech}", "Towards {adj} {obj}", "{tech} for {adj} {obj}", "Scaling {tech} for {obj}",
    "Rethinking {tech} in {obj}", "{obj} with {tech}", "Unlocking {obj} through {tech}", "A {tech} Framework for {obj}",
)  # fmt: skip
_PREFIXES = (
    "Aster Lumen Orbit Vega Quanta Helix Prism Echo Atlas Zephyr Kite Cobalt Tessera Pico Astra Nimbus Onyx Pulse "
    "Ripple Sage Terra Umbra Vortex Weave Mosaic Cinder Fable Glyph Harbor Iris Juniper Kestrel Lattice Marble"
).split()
_SUFFIXES = ("Flow", "Net", "Former", "Zero", "Mind")  # besides each field's own
_VERSIONS = ("", "", "", "-2", "-1.5", "-R1", "-V2", "-Pro")
_BRIEF_TITLES = ("# 论文简报：{title}", "# {name} 研究报告", "# 论文研读报告：{name}", "# {name} 论文分析报告", "")
_ASPECTS = "时空一致性 长程依赖 数据配比 奖励设计 错误恢复 多尺度特征 不确定性估计 自适应计算 上下文压缩".split()
_BENEFITS = "显著提升泛化能力 大幅降低推理延迟 提高训练稳定性 减少幻觉 提升样本效率".split()
_GOALS = "更强的泛化能力 更低的推理延迟 更稳定的训练 更少的幻觉 更高的样本效率".split()
_CONTRIBUTIONS = (
    "提出了 {name}，一种基于{method}的{area}方法，{benefit}，缓解了{problem}的问题。",
    "本文针对{problem}的问题，提出 {name}，通过{method}与{aspect}设计，在{area}任务上实现了{goal}。",
    "提出了一个名为 {name} 的{area}框架，利用{method}建模{aspect}，{benefit}。",
)
_INNOVATIONS = (
    ("{method}驱动的{aspect}建模", "将{aspect}显式建模为可学习的模块，相比以往依赖手工规则的方法更加稳定。"),
    ("面向{area}的{method}框架", "首次把{method}系统地用于{area}，无需额外标注即可{benefit}。"),
    ("大规模{area}数据构建", "构建了包含 {n} 万条样本的训练数据，并以{method}训练，缓解了{problem}的问题。"),
    ("轻量的推理期{aspect2}机制", "在推理阶段引入{aspect2}机制，在几乎不增加计算开销的情况下{benefit}。"),
)
_RESOURCES = (
    "推理需要单张 {gpu}（{mem}GB 显存）。",
    "训练使用了 {n} 张 {gpu}，耗时约 {days} 天；推理可在单卡完成。",
    "模型参数量为 {size}B，可在消费级 GPU（如 RTX 4090）上运行。",
)
# Each phrasing says its availability in words a reader (and the tests) can tell apart: 已 / 承诺·计划·即将 / 未.
_AVAILABILITY_TEXT = {
    "released": (
        "代码与模型权重已在 GitHub 开源（https://github.com/{org}/{name}）。",
        "摘要中提到“we release”，模型权重已发布在 Hugging Face。",
        "已开源，项目主页提供代码、数据集与在线演示。",
    ),
    "promised": (
        "作者承诺在论文录用后开源代码和模型权重。",
        "文中表示代码即将发布（coming soon），目前尚未公开。",
        "作者计划开源数据集与评测脚本，但尚未给出时间。",
    ),
    "none": ("文中未提及代码或模型是否开源。", "论文未说明是否开源代码或模型。", "未提及代码或权重的获取方式。"),
}
_COMPARISONS = ("超过此前最佳的开源方法", "刷新了该基准的 SOTA", "与闭源模型相当", "明显优于基线方法")


@dataclass(frozen=True)
class Figure:
    """A headline result: `value` is the exact string written (bold) in the paper's 实验效果."""

    benchmark: str
    metric: str
    value: str


@dataclass(frozen=True)
class Paper:
    """One paper of a daily report; `link` is its https://huggingface.co/papers/<id> line."""

    title: str
    link: str
    field: str
    availability: str  # one of AVAILABILITY
    figures: tuple[Figure, ...]

    @property
    def name(self) -> str:
        return self.title.split(":")[0]


@dataclass(frozen=True)
class Report:
    """One written file. A weekly report's `papers` are those it summarizes; `covers` is its first and last day."""

    file: str
    kind: str  # "daily" or "weekly"
    date: str
    covers: tuple[str, str]
    papers: tuple[Paper, ...]


@dataclass(frozen=True)
class Manifest:
    """Ground truth of one generated corpus, in the order the reports were written (by date, daily first)."""

    seed: int
    start: str
    days: int
    reports: tuple[Report, ...]

    def of_kind(self, kind: str) -> tuple[Report, ...]:
        return tuple(r for r in self.reports if r.kind == kind)

    def to_json(self) -> str:
        return json.dumps({"version": FORMAT_VERSION, **asdict(self)}, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"manifest version {data.get('version')!r} is not {FORMAT_VERSION}: generate it again")

        def paper(p: dict) -> Paper:
            return Paper(**{**p, "figures": tuple(Figure(**f) for f in p["figures"])})

        reports = tuple(
            Report(**{**r, "covers": tuple(r["covers"]), "papers": tuple(paper(p) for p in r["papers"])})
            for r in data["reports"]
        )
        return cls(data["seed"], data["start"], data["days"], reports)


class _Writer:
    """Draws papers and renders reports from one seeded random stream, so a seed fixes every byte."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.names: list[str] = []
        self.ids: set[str] = set()
        # paper link -> its topic and the Chinese name of the technique in its title, for the text to agree
        self.traits: dict[str, tuple[Topic, str]] = {}

    def _name(self, field: str) -> str:
        r = self.rng
        attempt = 0
        while True:
            attempt += 1
            # Two-word stems ("AsterLumenFlow") once the one-word ones run short, in long periods.
            stem = r.choice(_PREFIXES) + (r.choice(_PREFIXES) if attempt > 20 else "")
            name = stem + r.choice(FIELDS[field].suffixes + _SUFFIXES) + r.choice(_VERSIONS)
            # No name is the start of another, so a name in a question picks exactly one paper.
            low = name.lower()
            if not any(low.startswith(n) or n.startswith(low) for n in self.names):
                self.names.append(low)
                return name

    def _figure(self, spec: tuple[str, str, str, float, float, int, bool]) -> Figure:
        benchmark, metric, unit, low, high, decimals, _ = spec
        return Figure(benchmark, metric, f"{self.rng.uniform(low, high):.{decimals}f}{unit}")

    def paper(self, day: date) -> Paper:
        r = self.rng
        field = r.choices(list(FIELDS), weights=[f.weight for f in FIELDS.values()])[0]
        tech, method = r.choice(_TECHNIQUES)
        topic = r.choice(FIELDS[field].topics)
        phrase = r.choice(_TITLES).format(adj=r.choice(_ADJECTIVES), obj=topic.en, tech=tech)
        while (paper_id := f"{day:%y%m}.{r.randint(1000, 19999):05d}") in self.ids:
            pass
        self.ids.add(paper_id)
        link = f"https://huggingface.co/papers/{paper_id}"
        self.traits[link] = topic, method
        specs = r.sample(FIELDS[field].benchmarks, r.randint(1, min(3, len(FIELDS[field].benchmarks))))
        availability = r.choices(AVAILABILITY, weights=(45, 25, 30))[0]
        figures = tuple(self._figure(s) for s in specs)
        return Paper(f"{self._name(field)}: {phrase}", link, field, availability, figures)

    def _sections(self, paper: Paper) -> list[tuple[str, list[str]]]:
        """The five sub-sections of one paper: (name, lines)."""
        r, f = self.rng, FIELDS[paper.field]
        topic, method = self.traits[paper.link]
        aspect, aspect2 = r.sample(_ASPECTS, 2)
        benefit, goal = r.choice(_BENEFITS), r.choice(_GOALS)
        slots: dict[str, object] = {
            "name": paper.name,
            "method": method,
            "area": topic.zh,
            "problem": r.choice(f.problems),
        }
        slots |= {"aspect": aspect, "aspect2": aspect2, "benefit": benefit, "goal": goal, "n": r.randint(5, 200)}
        others = [t.zh for t in f.topics if t != topic]
        areas = "、".join([topic.zh, *r.sample(others, r.randint(1, 2))])
        hardware: dict[str, object] = {"gpu": r.choice(("A100", "H100", "H20", "A800")), "mem": r.choice((24, 40, 80))}
        hardware |= {"n": r.choice((8, 32, 64)), "days": r.randint(1, 7), "size": r.choice((1.5, 3, 7, 8))}
        guide = [
            f"*   **输入**：{topic.inputs}。",
            f"*   **输出**：{topic.outputs}。",
            "*   **资源需求**：" + r.choice(_RESOURCES).format(**hardware),
            "*   **开源情况**："
            + r.choice(_AVAILABILITY_TEXT[paper.availability]).format(org=r.choice(_PREFIXES).lower(), name=paper.name),
        ]
        innovations = [
            f"{n}.  **{title.format(**slots)}**：{body.format(**slots)}"
            for n, (title, body) in enumerate(r.sample(_INNOVATIONS, 3), 1)
        ]
        results = [f"{paper.name} 在 {len(paper.figures)} 个基准上进行了评估："] if r.random() < 0.5 else []
        higher = {b[0]: b[6] for b in f.benchmarks}
        for figure in paper.figures:
            verb = "达到" if higher[figure.benchmark] else "降至"
            claim = f"{_pad(figure.metric)}{verb} **{figure.value}**"
            results.append(f"*   **{figure.benchmark}**：{claim.lstrip()}，{r.choice(_COMPARISONS)}。")
        return [
            ("应用领域", [f"{paper.field} - {areas}（{topic.en}）。"]),
            ("一句话核心贡献", [r.choice(_CONTRIBUTIONS).format(**slots)]),
            ("使用指南", guide),
            ("主要创新点", innovations),
            ("实验效果", results),
        ]

    def _paper_text(self, paper: Paper) -> str:
        r = self.rng
        # The three heading styles of the real report, in about its proportions.
        style = r.choices(("bold", "plain", "markdown"), weights=(15, 6, 12))[0]
        lines = [f"## 📄 {paper.title}", "", f"- **链接**: {paper.link}"]
        lines += [f"- **阅读来源**: {r.choice(('HTML', 'HTML', 'ArXiv Abs'))}", ""]
        if brief := r.choice(_BRIEF_TITLES).format(title=paper.title, name=paper.name):
            lines += [brief, ""]
        for n, (name, body) in enumerate(self._sections(paper), 1):
            if style == "markdown":
                lines += [f"### {n}. {name}", *body]
            else:
                lines += [f"{n}. **{name}**" + ("：" if style == "bold" else ""), *("   " + b for b in body)]
            lines.append("")
        return "\n".join(lines)

    def daily(self, day: date, papers: list[Paper]) -> str:
        head = (
            f"# Hugging Face Daily Papers Report\n**Date**: {day}\n"
            f"**Source URL**: https://huggingface.co/papers/date/{day}\n\n{_RULE}\n\n"
        )
        return head + "".join(f"{self._paper_text(p)}\n\n{_RULE}\n\n" for p in papers)

    def weekly(self, first: date, last: date, dailies: list[tuple[date, list[Paper]]]) -> tuple[str, list[Paper]]:
        """A weekly report over `dailies`, and the papers it summarizes in order."""
        r = self.rng
        by_field: dict[str, list[tuple[date, Paper]]] = {}
        for day, papers in dailies:
            for p in papers:
                by_field.setdefault(p.field, []).append((day, p))
        fields = sorted(by_field, key=lambda f: (-len(by_field[f]), list(FIELDS).index(f)))[:5]
        total = sum(len(p) for _, p in dailies)
        picked: list[Paper] = []
        lines = [
            f"# AI 周报：{first} 至 {last}",
            f"**Date**: {last}",
            "",
            f"本周 {len(dailies)} 期 Hugging Face 每日论文共收录 {total} 篇论文，覆盖 {len(by_field)} 个方向。"
            f"以下按主题选读其中一部分。",
        ]
        for n, field in enumerate(fields, 1):
            of_field = by_field[field]
            chosen = [of_field[i] for i in sorted(r.sample(range(len(of_field)), min(len(of_field), r.randint(2, 3))))]
            topics = "与".join(dict.fromkeys(self.traits[p.link][0].zh for _, p in chosen))
            lines += ["", f"## {n}. {field}：{topics}", "", f"本周{field}方向共 {len(of_field)} 篇论文。"]
            for day, p in chosen:
                fig = p.figures[0]
                lines.append(
                    f"- **{p.name}**（{day.month} 月 {day.day} 日的日报，《{p.title}》）：在 {fig.benchmark} 上的"
                    f"{_pad(fig.metric)}为 {fig.value}，{r.choice(_COMPARISONS)}。"
                )
                picked.append(p)
        return "\n".join(lines) + "\n", picked


def _pad(word: str) -> str:
    """Spaces around a Latin word set in Chinese text ("上的 nDCG@10 为"), as the real digests write them."""
    return f" {word} " if word.isascii() else word


def _prepare(out_dir: Path) -> None:
    """Makes `out_dir` ready: new, empty, or an earlier output, whose files (and only those) are removed."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file, not a folder: pass a new or empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    old = out_dir / "manifest.json"
    if not old.exists():
        if any(out_dir.iterdir()):
            raise ValueError(f"{out_dir} is not empty and has no manifest.json: pass a new or empty folder")
        return
    try:
        files = [r["file"] for r in json.loads(old.read_text(encoding="utf-8"))["reports"]]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{old} is unreadable ({e}): remove the folder or pass another") from None
    for name in files:
        if isinstance(name, str) and _OUR_FILE.fullmatch(name):
            (out_dir / name).unlink(missing_ok=True)


def generate(out_dir: Path, seed: int = 0, start: date = date(2026, 1, 5), days: int = 91) -> Manifest:
    """Writes a daily report per weekday from `start` over `days` days, a weekly report per week ending on a
    Sunday in the period, and `manifest.json`; the same arguments always write the same bytes.

    Raises:
        ValueError: `days` is not in 1..MAX_DAYS, or `out_dir` is a file or a non-empty folder it did not write.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, got {days}")
    _prepare(out_dir)
    writer = _Writer(seed)
    reports: list[Report] = []
    week: list[tuple[date, list[Paper]]] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day.weekday() < 5:
            papers = [writer.paper(day) for _ in range(writer.rng.randint(3, 12))]
            reports.append(_write(out_dir, f"hf-daily-papers-{day}.md", writer.daily(day, papers), day, day, papers))
            week.append((day, papers))
        if day.weekday() == 6 and week:
            first = max(start, day - timedelta(days=6))
            text, picked = writer.weekly(first, day, week)
            reports.append(_write(out_dir, f"ai-weekly-{day}.md", text, first, day, picked, "weekly"))
            week = []
    manifest = Manifest(seed, start.isoformat(), days, tuple(reports))
    (out_dir / "manifest.json").write_text(manifest.to_json(), encoding="utf-8", newline="\n")
    logger.info("wrote %d reports to %s", len(reports), out_dir)
    return manifest


def _write(
    out_dir: Path, name: str, text: str, first: date, last: date, papers: list[Paper], kind: str = "daily"
) -> Report:
    (out_dir / name).write_text(text, encoding="utf-8", newline="\n")
    return Report(name, kind, last.isoformat(), (first.isoformat(), last.isoformat()), tuple(papers))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m bench.digests", description=__doc__)
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="new, empty, or earlier output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=91, help="length of the period (default 91)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 5), help="first day, YYYY-MM-DD")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        manifest = generate(args.out_dir, args.seed, args.start, args.days)
    except (ValueError, OSError) as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    daily, weekly = manifest.of_kind("daily"), manifest.of_kind("weekly")
    print(
        f"{len(daily)} daily + {len(weekly)} weekly reports, {sum(len(r.papers) for r in daily)} papers, "
        f"{args.start} to {args.start + timedelta(days=args.days - 1)}, in {args.out_dir} "
        f"({time.perf_counter() - began:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
