"""Embeddings through the chat's OpenAI-compatible endpoint, through the budget, each text once.

A vector is keyed by (model, dimensions, SHA-256 of the exact text sent): an unchanged
symbol, a re-index, a second clone or a renamed file finds its vector stored and costs
nothing. Missing texts go in batches within the API's limits; each batch is reserved in
the budget at its worst case before the call and settled with the endpoint's token count
after it, and its vectors are committed at once, so a run stopped by the budget, an error
or a cancel keeps everything it paid for and resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from mira_ls.config import Settings
from mira_ls.llm import tokens
from mira_ls.llm.budget import Budget, BudgetRefused
from mira_ls.llm.errors import LlmError
from mira_ls.llm.pricing import cost_micro
from mira_ls.llm.provider import OPENAI_URL, Provider, embed, endpoint_from
from mira_ls.llm.provider import Usage as LlmUsage
from mira_ls.store import Store
from mira_ls.store import embeddings as emb_store

log = logging.getLogger(__name__)

# OpenAI's limits: 2,048 inputs and 300,000 tokens per request, 8,192 tokens per input.
# Smaller batches lose less to a failed call and keep each budget reservation small.
MAX_BATCH_INPUTS = 128
MAX_BATCH_TOKENS = 100_000
MAX_INPUT_TOKENS = 8000

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def point_id(model: str, dimensions: int, digest: str) -> str:
    """A UUID (what Qdrant takes as a point id) derived from the text's key, so the same
    text under the same model is the same point for every user of a shared server."""
    return str(
        uuid.UUID(hashlib.sha256(f"{model}\0{dimensions}\0{digest}".encode()).hexdigest()[:32])
    )


def to_blob(vec: Sequence[float] | np.ndarray) -> bytes:
    return np.asarray(vec, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4")


def semantic_off_reason(settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    """Why vectors cannot be made here, as a sentence (None: an endpoint is configured).

    OpenAI needs a key; another endpoint (Ollama, LM Studio, vLLM) may not."""
    env = os.environ if env is None else env
    ep = endpoint_from(settings.llm, env)
    if ep.api_key is None and ep.is_openai:
        return (
            "Semantic search is off: no API key is set for embeddings at "
            f"{ep.base_url or OPENAI_URL} (MIRA_OPENAI_API_KEY or OPENAI_API_KEY), or point "
            "mira.llm.baseUrl at a local server such as Ollama. Keyword search works "
            "meanwhile."
        )
    return None


@dataclass
class EmbedRun:
    """What one ``Embedder.embed`` did. ``stopped``: the sentence of what stopped it early
    (budget, endpoint, cancel); what was embedded before stays stored."""

    texts: int = 0
    reused: int = 0
    embedded: int = 0
    calls: int = 0
    tokens: int = 0
    cost_micro: int = 0
    stopped: str | None = None
    cancelled: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Estimate:
    texts: int  # distinct texts not yet embedded
    tokens: int
    cost_micro: int


class Embedder:
    """Vectors of one embedding space (the configured model and dimensions)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        provider: Provider | None = None,
        budget: Budget | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.model = settings.llm.embedding_model
        self.dimensions = int(settings.llm.embedding_dimensions)
        self._env = env
        self._provider = provider
        self.budget = budget or Budget(store, settings)
        self.batch_inputs = MAX_BATCH_INPUTS
        self.batch_tokens = MAX_BATCH_TOKENS

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = Provider(endpoint_from(self.settings.llm, self._env))
        return self._provider

    # -- keys ----------------------------------------------------------------------------

    def prepare(self, text: str) -> str:
        """The exact text sent: cut to the model's input limit (at a token boundary)."""
        if len(text) > MAX_INPUT_TOKENS:  # fewer characters than tokens is impossible
            return tokens.truncate(text, MAX_INPUT_TOKENS)
        return text

    def key(self, text: str) -> str:
        """The stored key (SHA-256) of the text as it would be sent."""
        return text_hash(self.prepare(text))

    def point_id(self, digest: str) -> str:
        return point_id(self.model, self.dimensions, digest)

    def _sends_dimensions(self) -> bool:
        return self.model.split("/")[-1].startswith("text-embedding-3")

    # -- reading -------------------------------------------------------------------------

    def stored(self, digests: Sequence[str]) -> dict[str, tuple[int, np.ndarray]]:
        rows = emb_store.stored(self.store.conn(), self.model, self.dimensions, digests)
        return {h: (eid, from_blob(b)) for h, (eid, b) in rows.items()}

    def missing(self, texts: Sequence[str]) -> dict[str, str]:
        """digest -> prepared text for the distinct texts without a stored vector."""
        prepared: dict[str, str] = {}
        for t in texts:
            p = self.prepare(t)
            prepared.setdefault(text_hash(p), p)
        have = emb_store.known(self.store.conn(), self.model, self.dimensions, prepared)
        return {h: p for h, p in prepared.items() if h not in have}

    def estimate(self, texts: Sequence[str]) -> Estimate:
        """What embedding the missing ones would cost (o200k counts, the model's price)."""
        todo = self.missing(texts)
        n = sum(tokens.count(t) for t in todo.values())
        return Estimate(len(todo), n, cost_micro(self.budget.price(self.model), n, 0))

    # -- embedding -----------------------------------------------------------------------

    def _batches(self, todo: dict[str, str]) -> list[list[tuple[str, str, int]]]:
        batches: list[list[tuple[str, str, int]]] = []
        cur: list[tuple[str, str, int]] = []
        size = 0
        for h, text in todo.items():
            n = max(1, tokens.count(text))
            if cur and (len(cur) >= self.batch_inputs or size + n > self.batch_tokens):
                batches.append(cur)
                cur, size = [], 0
            cur.append((h, text, n))
            size += n
        if cur:
            batches.append(cur)
        return batches

    def embed(
        self,
        texts: Sequence[str],
        *,
        project_id: int | None = None,
        operation: str = "embed",
        progress: Progress | None = None,
        cancel: Cancel | None = None,
        raise_errors: bool = False,
        on_request: Callable[[str], None] | None = None,
    ) -> EmbedRun:
        """Embed the texts that have no vector yet. Stops (run.stopped says why) at the
        first refusal or failure unless ``raise_errors``, which raises it instead.
        ``on_request`` is told each budget_tracking request id as it is made."""
        run = EmbedRun(texts=len(texts))
        todo = self.missing(texts)
        run.reused = len({self.key(t) for t in texts}) - len(todo)
        batches = self._batches(todo)
        total = len(todo)
        done = 0
        for batch in batches:
            if cancel is not None and cancel():
                run.cancelled = True
                run.stopped = "Embedding was cancelled; what was embedded so far is kept."
                break
            try:
                self._one_batch(batch, run, project_id, operation, on_request)
            except (BudgetRefused, LlmError) as exc:
                run.stopped = str(exc)
                run.errors.append(str(exc))
                if raise_errors:
                    raise
                break
            done += len(batch)
            if progress is not None:
                progress(done, total, f"embedded {done} of {total} texts")
        return run

    def _one_batch(
        self,
        batch: list[tuple[str, str, int]],
        run: EmbedRun,
        project_id: int | None,
        operation: str,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        count = sum(n for _, _, n in batch)
        res = self.budget.reserve(
            model=self.model,
            reasoning_effort=None,
            prompt_tokens=count,
            max_output_tokens=0,
            operation=operation,
            project_id=project_id,
            allow_downgrade=False,
        )
        if on_request is not None:
            on_request(res.request_id)
        try:
            got = embed(
                self.provider,
                self.model,
                [t for _, t, _ in batch],
                self.dimensions if self._sends_dimensions() else None,
            )
        except LlmError as exc:
            if exc.maybe_billed:
                self.budget.settle(res, None, status="error", message=str(exc)[:500])
            else:
                self.budget.release(res, str(exc))
            raise
        bad = next((len(v) for v in got.vectors if len(v) != self.dimensions), None)
        if bad is not None:
            self.budget.settle(
                res, LlmUsage(got.input_tokens or count, 0), status="error", message="dimensions"
            )
            raise LlmError(
                "dimensions",
                f"The embedding endpoint returned {bad}-dimensional vectors for {self.model}, "
                f"but mira.llm.embeddingDimensions is {self.dimensions}. Set it to {bad} (or "
                "choose a model that makes that many); nothing was stored.",
            )
        settled = self.budget.settle(
            res, LlmUsage(got.input_tokens, 0) if got.input_tokens is not None else None
        )
        rows = [(h, to_blob(v), n) for (h, _, n), v in zip(batch, got.vectors, strict=True)]
        with self.store.write() as c:
            emb_store.insert(c, self.model, self.dimensions, rows)
        run.calls += 1
        run.embedded += len(batch)
        run.tokens += got.input_tokens or count
        run.cost_micro += settled.cost_micro

    def query_vector(self, text: str, *, project_id: int | None = None) -> np.ndarray:
        """The vector of a search query (stored like any text: asking again is free).
        Raises BudgetRefused or LlmError with a sentence."""
        digest = self.key(text)
        hit = self.stored([digest]).get(digest)
        if hit is None:
            self.embed([text], project_id=project_id, operation="embed_query", raise_errors=True)
            hit = self.stored([digest]).get(digest)
        if hit is None:  # pragma: no cover - embed() raised or stored it
            raise LlmError("bad_response", "The query could not be embedded.")
        return hit[1]
