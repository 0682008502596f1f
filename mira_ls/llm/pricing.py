"""Prices per model in dollars per million tokens, and exact costs in integer micro-dollars.

A dollar per million tokens is a micro-dollar per token, so a cost is just the token counts
times the prices; it is rounded up so the budget never undercounts. Unknown models are priced
like the default model (the safe side for a hard budget) until ``budget.prices`` names them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_MODEL = "gpt-5.1"


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens (= micro-dollars per token)."""

    input: Decimal
    cached_input: Decimal
    output: Decimal
    known: bool = True  # False: a fallback for a model the table does not name


def _p(i: str, c: str, o: str) -> Price:
    return Price(Decimal(i), Decimal(c), Decimal(o))


# OpenAI list prices (standard tier). Overridable with budget.prices.
PRICES: Mapping[str, Price] = {
    "gpt-5.1": _p("1.25", "0.125", "10"),
    "gpt-5.1-codex": _p("1.25", "0.125", "10"),
    "gpt-5.1-codex-mini": _p("0.25", "0.025", "2"),
    "gpt-5.1-chat-latest": _p("1.25", "0.125", "10"),
    "gpt-5": _p("1.25", "0.125", "10"),
    "gpt-5-mini": _p("0.25", "0.025", "2"),
    "gpt-5-nano": _p("0.05", "0.005", "0.4"),
    "gpt-4.1": _p("2", "0.5", "8"),
    "gpt-4.1-mini": _p("0.4", "0.1", "1.6"),
    "gpt-4.1-nano": _p("0.1", "0.025", "0.4"),
    "gpt-4o": _p("2.5", "1.25", "10"),
    "gpt-4o-mini": _p("0.15", "0.075", "0.6"),
    # Embeddings: input only.
    "text-embedding-3-large": _p("0.13", "0.13", "0"),
    "text-embedding-3-small": _p("0.02", "0.02", "0"),
    "text-embedding-ada-002": _p("0.10", "0.10", "0"),
}

_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}$")


class PriceError(ValueError):
    pass


def _dec(value: Any, where: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise PriceError(f"{where}: expected a number of dollars, got {value!r}") from exc
    if not d.is_finite() or d < 0:
        raise PriceError(f"{where}: expected a non-negative number, got {value!r}")
    return d


def parse_overrides(raw: Mapping[str, Any]) -> tuple[dict[str, Price], list[str]]:
    """budget.prices {model: {input, cachedInput, output}} -> prices, plus problems as sentences."""
    out: dict[str, Price] = {}
    problems: list[str] = []
    for model, spec in (raw or {}).items():
        if not isinstance(spec, Mapping):
            problems.append(
                f"mira.budget.prices.{model} must be an object "
                "{input, cachedInput, output}; ignored."
            )
            continue
        try:
            inp = _dec(spec.get("input", 0), f"mira.budget.prices.{model}.input")
            out_p = _dec(spec.get("output", 0), f"mira.budget.prices.{model}.output")
            cached = _dec(
                spec.get("cachedInput", spec.get("cached_input", inp)),
                f"mira.budget.prices.{model}.cachedInput",
            )
        except PriceError as exc:
            problems.append(f"{exc}; the override is ignored.")
            continue
        out[model] = Price(inp, cached, out_p)
    return out, problems


def price_for(model: str, overrides: Mapping[str, Price] | None = None) -> Price:
    """Overrides first, then the table (dated snapshots map to their family), else fallback."""
    overrides = overrides or {}
    for name in (model, _DATED.sub("", model)):
        if name in overrides:
            return overrides[name]
        if name in PRICES:
            return PRICES[name]
    base = PRICES[DEFAULT_MODEL]
    return Price(base.input, base.cached_input, base.output, known=False)


def cost_micro(
    price: Price, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
) -> int:
    """Exact cost in micro-dollars, rounded up. ``input_tokens`` includes the cached ones."""
    cached = max(0, min(cached_input_tokens, input_tokens))
    total = (
        Decimal(input_tokens - cached) * price.input
        + Decimal(cached) * price.cached_input
        + Decimal(max(0, output_tokens)) * price.output
    )
    return math.ceil(total)


def max_output_tokens_for(price: Price, budget_micro: int, input_tokens: int) -> int:
    """How many output tokens ``budget_micro`` pays for after the input (0 if none)."""
    left = Decimal(budget_micro) - Decimal(input_tokens) * price.input
    if left <= 0:
        return 0
    if price.output == 0:
        return 1 << 30
    return int(left // price.output)


def usd(micro: int) -> str:
    """Micro-dollars shown as dollars: $0.0123 below a dollar, $4.20 above."""
    dollars = micro / 1_000_000
    if micro and abs(dollars) < 1:
        return f"${dollars:.4f}"
    return f"${dollars:.2f}"
