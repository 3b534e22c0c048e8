"""Answer a question from the retrieved passages with checked [n] citations, or say the digests don't say.

The stages live in their own modules: follow-up rewriting (rag/followup.py), excerpt choice (rag/excerpt.py),
prompts (rag/prompts.py) and the checks that amend or decline an answer (rag/policy.py).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from rag import cards, cite, injection, policy
from rag.cite import language
from rag.config import AnswerConfig, GenerateConfig
from rag.excerpt import Passage, excerpts, header, legible, one_per_paper
from rag.followup import standalone
from rag.generate import Generator
from rag.policy import DECLINE, Policy, Relevance
from rag.prompts import asks_for_list, build_messages
from rag.rerank import Reranker
from rag.search import Retriever, clean_question
from rag.types import Answer, Citation, Hit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """One request's settings; None (or "") keeps the assistant's own."""

    passages: int | None = None  # passages the model reads
    rerank: bool | None = None  # rerank the first stage (needs a reranker on the retriever)
    digest: str = ""  # a document's id: answer from it alone


@dataclass(frozen=True)
class Retrieval:
    """What `Assistant.retrieve` found: the final hits, the best dense similarity (how close the nearest passage
    is), and the question's embedding (to score sentences against it)."""

    hits: list[Hit]
    similarity: float
    vector: np.ndarray


class Assistant:
    """Retrieves, generates and checks citations; `stream` feeds a chat page, `ask` a script.

    The optional `judge` (a reranker) picks the passages' best sentence among the embedder's
    `answer.quote_candidates` best (see `policy.evidence`).
    """

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        config: GenerateConfig | None = None,
        answer_config: AnswerConfig | None = None,
        rerank: bool = False,
        judge: Reranker | None = None,
    ):
        self.retriever = retriever
        self.generator = generator
        self.config = config or GenerateConfig()
        self.answer_config = answer_config or AnswerConfig()
        self.rerank = rerank
        self.judge = judge
        Policy(self.answer_config)  # refuses a check name it does not know, now rather than at the first question
        # The learned part of the injection detector, when trained for this embedder (rag/injection.py).
        self.injection_head = injection.Head.load(retriever.embedder.id)

    def using(self, retriever: Retriever) -> Assistant:
        """An assistant like this one over another retriever (a newer index generation), sharing its models;
        this one is left as it is, so a request under way keeps reading the index it started with."""
        other = copy.copy(self)
        other.retriever = retriever
        return other

    @property
    def policy(self) -> Policy:
        return Policy(self.answer_config)

    def retrieve(self, question: str, options: Options | None = None) -> Retrieval:
        """The final hits of a question, with what the answer checks need of its search."""
        options = options or Options()
        rerank = self.rerank if options.rerank is None else options.rerank
        within = self.retriever.rows_of(options.digest) if options.digest else None
        stages = self.retriever.stages([question], rerank=rerank, within=within)[0]
        config = self.settings(options)
        wanted = max(config.passages, config.list_passages, self.retriever.config.k)
        hits = self.retriever.hits(stages.final(), wanted)
        similarity = stages.dense[0][1] if stages.dense else 0.0
        vector = stages.vector if stages.vector is not None else self.retriever.embedder.embed_queries([question])[0]
        return Retrieval(hits, similarity, vector)

    def relevance(self, asked: np.ndarray) -> Relevance:
        """Scores sentences by the embedder's cosine to the question's embedding `asked`, as the model reads them."""
        embedder = self.retriever.embedder

        def relevance(sentences: list[str]) -> Sequence[float]:
            return embedder.embed_passages([legible(s) for s in sentences]) @ asked

        return relevance

    def settings(self, options: Options | None = None) -> GenerateConfig:
        """The generation settings of a request: the assistant's, with the request's number of passages."""
        passages = options.passages if options else None
        return dataclasses.replace(self.config, passages=passages) if passages else self.config

    def read(self, top: list[Hit], relevance: Relevance, options: Options | None = None) -> list[Passage]:
        """What the model reads of the `top` hits: their sentences closest to the question, within one budget.

        The passages share it (a list reads more of them in the same room): the prompt's length sets the time
        to the first token. Junk OCR lines are read cut down (`legible`): only the rest counts.
        """
        config = self.settings(options)
        budget = config.passage_tokens * config.passages
        texts, flagged = [hit.chunk.text for hit in top], [bool(hit.chunk.flags) for hit in top]
        embedder = self.retriever.embedder

        def addressed(sentences: list[str]) -> list[bool]:
            return [bool(k) for k in injection.detect(sentences, self.injection_head, embedder.embed_passages)]

        count = self.generator.count_tokens
        chosen = excerpts(texts, relevance, budget, lambda text: count(legible(text)), flagged, addressed)
        return [Passage(n, hit, spans) for n, (hit, spans) in enumerate(zip(top, chosen, strict=True), 1)]

    def stream(
        self, question: str, history: list[tuple[str, str]] | None = None, options: Options | None = None
    ) -> Iterator[str | Answer]:
        """Yields the answer text piece by piece as it is generated, then the checked `Answer`.

        Args:
            question: The user's message.
            history: Earlier (question, answer) turns of the conversation, oldest first; a follow-up is
                rewritten from them into a standalone question (`Answer.query`) before retrieval.
            options: This request's settings; the assistant's own are left as they are, so requests with
                different settings can share one assistant.

        The final `Answer` is what to keep: the checks of rag/policy.py may have amended what was streamed,
        added the passages' best sentence as a quote, or declined.
        """
        question = clean_question(question)
        lang = language(question)
        query = clean_question(standalone(self.generator, question, history or []))
        options = options or Options()
        config = self.settings(options)
        about_reports = self.about_reports(question, query, lang, options.digest)
        if about_reports is not None:
            yield about_reports.text
            yield about_reports
            return
        found = self.retrieve(query, options)
        hits, similarity, asked = found.hits, found.similarity, found.vector
        listing = asks_for_list(query)
        top = one_per_paper(hits, config.list_passages) if listing else hits[: config.passages]
        checks = self.policy  # built once: read for every streamed piece
        declined = checks.before(query, top, hits, similarity, self.retriever.index.keyword.vocab)
        if declined:
            logger.info("declined before generating (%s)", declined)
            yield self._decline(question, query, lang, top, [declined])
            return

        relevance = self.relevance(asked)
        passages = self.read(top, relevance, options)
        # A list names up to one paper per passage, titles and all: it gets room in proportion.
        max_tokens = config.max_tokens * len(passages) // config.passages if listing else config.max_tokens
        raw, fired = "", []
        for piece in self.generator.stream(build_messages(query, lang, passages, listing), max_tokens):
            raw += piece
            yield piece
            if checks.on("loop") and (cut := policy.loop_end(raw)) is not None:
                logger.info("the reply loops; generation stopped: %r", raw[-120:])
                raw, fired = raw[:cut], ["loop"]
                break
            if not listing and checks.on("too_long") and (cut := policy.past_two_sentences(raw)) is not None:
                raw, fired = raw[:cut], ["too_long"]
                break
        yield self._finish(question, query, lang, raw, passages, relevance, listing, fired)

    def about_reports(self, question: str, query: str, lang: str, digest: str = "") -> Answer | None:
        """A question about the daily reports as a whole (how many papers, which on a topic, what they cover),
        answered from their paper cards with one cited line per paper; None for any other question.

        Args:
            digest: A document's id: the question is about its papers alone, whatever dates it names.
        """
        retriever = self.retriever
        found = cards.find(query, retriever.cards, retriever.topics, retriever.paper_names, digest)
        if found is None:
            return None
        text, cited = cards.reply(found.papers, found.asked, found.dates, len(found.scope), lang)
        passages = [card.cited(release=bool(found.asked.release)) for card in cited]
        citations = tuple(Citation(n, *passage) for n, passage in enumerate(passages, 1))
        # No paper of the topic, or no report of those dates: the digests don't say, and the text says why.
        return Answer(  # nothing was searched
            question,
            text,
            bool(cited),
            citations,
            (),
            lang=lang,
            query=query,
            reply=text if cited else "",
            decline_reason="" if cited else text,
        )

    def ask(
        self, question: str, history: list[tuple[str, str]] | None = None, options: Options | None = None
    ) -> Answer:
        """The whole checked answer at once."""
        *_, answer = self.stream(question, history, options)
        assert isinstance(answer, Answer)
        return answer

    def _decline(self, question: str, query: str, lang: str, hits: list[Hit], checks: list[str]) -> Answer:
        return Answer(
            question,
            DECLINE[lang],
            False,
            passages=tuple(hits),
            lang=lang,
            query=query,
            checks=tuple(checks),
            decline_reason=policy.decline_reason(checks),
        )

    def _finish(
        self,
        question: str,
        query: str,
        lang: str,
        raw: str,
        passages: list[Passage],
        relevance: Relevance,
        listing: bool,
        fired: list[str],
    ) -> Answer:
        hits = [p.hit for p in passages]
        # The model read each passage under its header (paper title, date): a title it repeats is supported.
        headers = [header(p) for p in passages]
        given = [f"{h}\n{p.text}" for h, p in zip(headers, passages, strict=True)]
        embedder, c = self.retriever.embedder, self.answer_config
        # Once per answer, each sentence is compared with them; embedded as the model read them.
        vectors = embedder.embed_passages([f"{h}\n{p.shown}" for h, p in zip(headers, passages, strict=True)])

        @cache  # a reply and its quote are checked in turn: each sentence is embedded once
        def embedded(sentence: str) -> np.ndarray:
            return embedder.embed_queries([sentence])[0]

        def similarity(sentence: str, _passages: list[str]) -> list[float]:
            return [float(x) for x in vectors @ embedded(sentence)]

        def check(text: str) -> cite.Checked:
            return cite.check(text, given, c.support, similarity, c.similarity, question=query)

        def find_evidence(known, units) -> policy.Evidence | None:
            reranker = self.judge
            judge = (lambda sentences: reranker.score(query, sentences)) if reranker else None
            return policy.evidence(passages, relevance, judge, c.quote_candidates, known, units)

        verdict = self.policy.after(query, lang, raw, passages, check, find_evidence, listing)
        checks = fired + verdict.fired
        if verdict.checked is None:
            return self._decline(question, query, lang, hits, checks)
        checked = verdict.checked
        citations = []
        for n, start, end in checked.cited:
            p, skip = passages[n - 1], len(given[n - 1]) - len(passages[n - 1].text)
            if start >= skip:
                start, end = start - skip, end - skip
            else:  # the title shares the most words: highlight the excerpt's best sentence (else all of it)
                claimed = [checked.text[s:e] for s, e in cite.sentences(checked.text)]
                start, end = cite.best_span(p.text, " ".join(x for x in claimed if n in cite.markers(x)))
            citations.append(Citation(n, p.hit.chunk, p.start + start, p.start + end))
        return Answer(
            question,
            checked.text,
            True,
            tuple(citations),
            tuple(hits),
            checked.unsupported,
            checked.sentences,
            lang,
            query,
            tuple(checks),
            verdict.reply,
            verdict.quote,
        )
