"""One typed Settings object: defaults < MIRA_* env < initializationOptions < workspace config.

Keys are camelCase dotted paths under the ``mira`` section (``budget.dailyUsd``); the env
var of a key is ``MIRA_`` + its path in upper snake case (``MIRA_BUDGET_DAILY_USD``).
Invalid values never crash: the default is kept and a sentence is returned for the editor.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SECTION = "mira"
# GPT-5.1's efforts. ``minimal`` is GPT-5's name for the lowest one: accepted as ``none``
# (the provider maps ``none`` back to ``minimal`` for GPT-5 models).
REASONING_EFFORTS = ("none", "low", "medium", "high")
EFFORT_ALIASES = {"minimal": "none"}


def _f(default: Any, doc: str, **meta: Any) -> Any:
    """A settings field with its documentation and validation rules."""
    if isinstance(default, (list, dict)):
        return field(
            default_factory=lambda: json.loads(json.dumps(default)), metadata={"doc": doc, **meta}
        )
    return field(default=default, metadata={"doc": doc, **meta})


@dataclass
class IndexSettings:
    max_file_bytes: int = _f(1_000_000, "Files larger than this are not indexed.", min=1)
    workers: int = _f(
        0, "Parser processes for a full index (0: one per CPU core, none when small).", min=0
    )
    exclude: list[str] = _f([], "Extra gitignore-style patterns to skip.")
    jedi: bool = _f(True, "Resolve Python calls tree-sitter cannot with jedi, in the background.")
    on_start: bool = _f(True, "Index the workspace when the editor connects.")


@dataclass
class GitSettings:
    enabled: bool = _f(True, "Mine git history after indexing.")
    max_changeset_files: int = _f(30, "Commits touching more files are ignored by analyses.", min=1)
    bot_pattern: str = _f(
        r"\[bot\]|dependabot|renovate|github-actions",
        "Regular expression (case-insensitive) for bot authors ignored by analyses.",
        regex=True,
    )
    ignore_merges: bool = _f(True, "Ignore merge commits in analyses.")
    ignore_revs_file: str = _f(".git-blame-ignore-revs", "Revisions listed here are ignored.")
    blame_copies: bool = _f(False, "Run git blame with -C (slower, follows moved lines).")
    trust_repository_config: bool = _f(
        False,
        "Let git run what the repository's own config names (fsmonitor, hooks, filters, "
        "textconv, external diff, helpers). Off: those are neutralised. User or machine "
        "scope only; VS Code sends its workspace trust.",
    )


@dataclass
class CochangeSettings:
    min_shared: int = _f(3, "Minimum shared commits for a co-change pair.", min=1)
    min_confidence: float = _f(
        0.2,
        "Minimum confidence c/a (either direction) for a pair; partners rank by c/a.",
        min=0.0,
        max=1.0,
    )
    top_partners: int = _f(10, "Partners kept per file.", min=1)
    diagnostic: bool = _f(True, "Warn on save when a strong partner is not modified.")
    strong_confidence: float = _f(0.5, "Confidence c/a of a 'strong' partner.", min=0.0, max=1.0)
    strong_shared: int = _f(5, "Shared commits of a 'strong' partner.", min=1)
    diagnostic_max_share: float = _f(
        0.25,
        "A partner changed in more than this share of all counted commits (a changelog) is "
        "not offered by the save diagnostic.",
        min=0.0,
        max=1.0,
    )


@dataclass
class CodeLensSettings:
    callers: bool = _f(True, "Show 'N callers' above functions.")
    authors: bool = _f(True, "Show 'N authors, last by NAME, DATE' above top-level symbols.")


@dataclass
class BuildSettings:
    commands: list[dict[str, Any]] = _f(
        [],
        "Build/check commands: [{name, command: [argv...], parser, cwd}], parser one of ruff, "
        "mypy, pytest, tsc, cargo, go, generic. Empty: detected from the project (asks once).",
    )
    on_save: bool = _f(False, "Run the build when a file is saved.")
    timeout_seconds: float = _f(
        600.0, "A build command running longer is stopped with its child processes.", min=0.1
    )
    output_cap_bytes: int = _f(
        10_000_000,
        "Output kept per command and stream (its first and last parts); the rest is counted.",
        min=1024,
    )


@dataclass
class LlmSettings:
    model: str = _f("gpt-5.1", "Chat model.")
    base_url: str = _f("", "OpenAI-compatible endpoint (default: OPENAI_BASE_URL or OpenAI).")
    reasoning_effort: str = _f(
        "medium",
        "Reasoning effort (GPT-5's minimal is taken as none).",
        choices=REASONING_EFFORTS,
        aliases=EFFORT_ALIASES,
    )
    max_output_tokens: int = _f(1024, "Output cap per answer.", min=16)
    context_tokens: int = _f(8000, "Token budget for assembled context.", min=256)
    timeout_seconds: float = _f(120.0, "HTTP timeout per request.", min=0.1)
    max_retries: int = _f(3, "Retries on 429, 5xx and timeouts.", min=0)
    max_tool_rounds: int = _f(4, "Tool-calling rounds per answer.", min=0)
    cheaper_model: str = _f("", "Model to downgrade to when the budget is short.")
    embedding_model: str = _f("text-embedding-3-large", "Embedding model.")
    embedding_dimensions: int = _f(3072, "Embedding dimensions.", min=1)


@dataclass
class BudgetSettings:
    daily_usd: float = _f(5.0, "Daily spending limit in dollars (UTC days).", min=0.0)
    monthly_usd: float = _f(150.0, "Monthly spending limit in dollars (UTC months).", min=0.0)
    allow_downgrade: bool = _f(False, "Lower effort or model instead of refusing.")
    prices: dict[str, Any] = _f(
        {}, "Price overrides per model: {model: {input, cachedInput, output}} $/1M tokens."
    )


@dataclass
class CacheSettings:
    enabled: bool = _f(True, "Cache LLM answers.")
    ttl_seconds: int = _f(86400, "Cache entry lifetime.", min=0)
    max_bytes: int = _f(200_000_000, "Cache size cap (LRU eviction).", min=0)


@dataclass
class VectorSettings:
    backend: str = _f(
        "sqlite",
        "Vector store: sqlite (sqlite-vec in the database, nothing to start) or qdrant.",
        choices=("sqlite", "qdrant"),
    )
    qdrant_url: str = _f("", "Qdrant server URL (a team's; API key only from MIRA_QDRANT_API_KEY).")
    qdrant_path: str = _f("", "Qdrant local (embedded) mode: a directory for its files.")
    confirm_above_usd: float = _f(
        0.5, "Ask before embedding a workspace when the estimate is above this.", min=0.0
    )
    semantic: bool = _f(True, "Use vectors in search when an embedding endpoint is available.")


@dataclass
class MemorySettings:
    enabled: bool = _f(True, "Remember facts from what you tell mira-ls (off: nothing is written).")
    fact_min_salience: float = _f(
        0.7,
        "After message analysis, your chat messages with at least this salience (and those "
        "whose intent is a preference or a correction) go to fact extraction.",
        min=0.0,
        max=1.0,
    )


@dataclass
class LearningSettings:
    enabled: bool = _f(
        True,
        "Learn from outcomes (applied fixes that stayed or were reverted, feedback) and show "
        "what worked before in mira.fixError (off: feedback is kept, nothing is learned).",
    )


@dataclass
class ToolsSettings:
    synthesis: bool = _f(
        True,
        "Notice sequences of tool calls the model repeats across answers and propose them as "
        "tools; a proposal is never offered to the model until you approve it "
        "(mira-ls tools approve ID).",
    )
    min_occurrences: int = _f(
        3, "Answers that must repeat a sequence of tool calls before it is proposed.", min=2
    )
    min_success_rate: float = _f(
        0.5,
        "An approved tool whose success rate (over its last runs since approval) falls below "
        "this is withdrawn from the model, and you are told.",
        min=0.0,
        max=1.0,
    )
    min_executions: int = _f(
        3, "Runs of an approved tool before its success rate can withdraw it.", min=1
    )
    command_timeout_seconds: float = _f(
        30.0,
        "A command tool running longer than this is stopped and counted as failed.",
        min=0.1,
    )
    output_max_bytes: int = _f(
        65536,
        "Output of a command tool kept beyond this is dropped (the run says so).",
        min=1024,
    )


@dataclass
class AnalysisSettings:
    confirm_above_usd: float = _f(
        0.5,
        "Ask before an LLM analysis of a folder (mira.analyze, mira-ls analyze) whose estimate "
        "is above this.",
        min=0.0,
    )
    background: bool = _f(
        True,
        "Analyse, in the background, the definitions of files you open or save and of the "
        "top hotspots after mining (what each is for, its concepts; for the worst functions "
        "of hotspots, why they are hard to change): only with an API key, "
        "through the budget, at most analysis.backgroundDailyUsd a day, and never twice for "
        "unchanged code.",
    )
    background_daily_usd: float = _f(
        0.25,
        "What background analysis may spend a day (UTC); the budget's limits apply as well.",
        min=0.0,
    )
    background_hotspots: int = _f(
        10, "How many of the most changed files background analysis covers (0: none).", min=0
    )


@dataclass
class QualitySettings:
    diagnostics: bool = _f(
        False,
        "Show functions over a quality threshold as Hint diagnostics (Information when severe "
        "or in a hotspot) in open files, with Explain and Ask Mira to refactor.",
    )
    max_complexity: int = _f(
        10, "Cyclomatic complexity above this is a quality issue (mira-ls quality too).", min=1
    )
    max_nesting: int = _f(4, "Nesting depth of control structures above this is an issue.", min=1)
    max_length: int = _f(60, "A function longer than this many lines is an issue.", min=1)
    max_params: int = _f(5, "A function taking more parameters than this is an issue.", min=1)


@dataclass
class Settings:
    database_path: str = _f("", "Database file (MIRA_DB wins; default: platform data dir).")
    log_level: str = _f("info", "Server log level.", choices=("debug", "info", "warning", "error"))
    index: IndexSettings = field(default_factory=IndexSettings)
    git: GitSettings = field(default_factory=GitSettings)
    cochange: CochangeSettings = field(default_factory=CochangeSettings)
    code_lens: CodeLensSettings = field(default_factory=CodeLensSettings)
    build: BuildSettings = field(default_factory=BuildSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    vectors: VectorSettings = field(default_factory=VectorSettings)
    memory: MemorySettings = field(default_factory=MemorySettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)
    learning: LearningSettings = field(default_factory=LearningSettings)
    tools: ToolsSettings = field(default_factory=ToolsSettings)


# ---------------------------------------------------------------------------------------


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def env_name(dotted: str) -> str:
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", dotted).replace(".", "_")
    return "MIRA_" + snake.upper()


@dataclass(frozen=True)
class KeyInfo:
    key: str  # camelCase dotted path, e.g. "budget.dailyUsd"
    attrs: tuple[str, ...]  # python attribute path
    type: Any
    default: Any
    doc: str
    meta: Mapping[str, Any]


def _sections(cls: type) -> Iterator[tuple[dataclasses.Field[Any], Any]]:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        yield f, hints[f.name]


def keys(cls: type = Settings, prefix: tuple[str, ...] = ()) -> list[KeyInfo]:
    out: list[KeyInfo] = []
    for f, tp in _sections(cls):
        path = (*prefix, f.name)
        if dataclasses.is_dataclass(tp):
            out.extend(keys(tp, path))  # type: ignore[arg-type]
            continue
        default = f.default
        if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        out.append(
            KeyInfo(
                ".".join(camel(p) for p in path),
                path,
                tp,
                default,
                f.metadata.get("doc", ""),
                f.metadata,
            )
        )
    return out


class InvalidValue(ValueError):
    pass


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise InvalidValue(f"expected true or false, got {value!r}")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidValue(f"expected a whole number, got {value!r}")
    try:
        result = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        result = None
    if result is None:
        raise InvalidValue(f"expected a whole number, got {value!r}")
    return result


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise InvalidValue(f"expected a number, got {value!r}")
    try:
        result = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidValue(f"expected a number, got {value!r}") from exc
    if result != result or result in (float("inf"), float("-inf")):
        raise InvalidValue(f"expected a finite number, got {value!r}")
    return result


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidValue(f"expected text, got {value!r}")
    return value


def _to_list(tp: Any, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidValue(f"expected a list, got {value!r}")
    (item_tp,) = typing.get_args(tp) or (Any,)
    if item_tp is str and not all(isinstance(v, str) for v in value):
        raise InvalidValue(f"expected a list of text, got {value!r}")
    if typing.get_origin(item_tp) is dict and not all(isinstance(v, dict) for v in value):
        raise InvalidValue(f"expected a list of objects, got {value!r}")
    return value


def _to_dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValue(f"expected an object, got {value!r}")
    return value


def _to_type(tp: Any, value: Any) -> Any:
    """The value as the key's declared type, or InvalidValue saying what was expected."""
    origin = typing.get_origin(tp)
    if tp is bool:
        return _to_bool(value)
    if tp is int:
        return _to_int(value)
    if tp is float:
        return _to_float(value)
    if tp is str:
        return _to_str(value)
    if origin is list:
        return _to_list(tp, value)
    if origin is dict:
        return _to_dict(value)
    return value  # pragma: no cover - every declared type is handled above


def _check_meta(meta: Mapping[str, Any], result: Any, value: Any) -> Any:
    """Aliases, choices, bounds and regular expressions declared beside the key."""
    if isinstance(result, str):
        result = meta.get("aliases", {}).get(result, result)
    if "choices" in meta and result not in meta["choices"]:
        raise InvalidValue(f"expected one of {', '.join(meta['choices'])}, got {value!r}")
    if "min" in meta and result < meta["min"]:
        raise InvalidValue(f"expected at least {meta['min']}, got {value!r}")
    if "max" in meta and result > meta["max"]:
        raise InvalidValue(f"expected at most {meta['max']}, got {value!r}")
    if meta.get("regex"):
        try:
            re.compile(result)
        except re.error as exc:
            raise InvalidValue(f"not a valid regular expression ({exc}): {value!r}") from exc
    return result


def _coerce(info: KeyInfo, value: Any, *, from_env: bool) -> Any:
    tp = info.type
    if from_env and isinstance(value, str) and typing.get_origin(tp) in (list, dict):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidValue(f"expected JSON, got {value!r}") from exc
    if tp is bool:  # a bool is never checked against choices or bounds
        return _to_bool(value)
    if tp is str and value is None:
        return ""
    return _check_meta(info.meta, _to_type(tp, value), value)


def _flatten(options: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"llm": {"model": x}} and {"llm.model": x} both become {"llm.model": x}."""
    flat: dict[str, Any] = {}
    for k, v in options.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and key not in _DICT_KEYS:
            flat.update(_flatten(v, key + "."))
        else:
            flat[key] = v
    return flat


_KEYS = {k.key: k for k in keys()}
_DICT_KEYS = {k.key for k in keys() if typing.get_origin(k.type) is dict}


def _set(settings: Settings, attrs: tuple[str, ...], value: Any) -> None:
    obj: Any = settings
    for a in attrs[:-1]:
        obj = getattr(obj, a)
    setattr(obj, attrs[-1], value)


def get(settings: Settings, key: str) -> Any:
    obj: Any = settings
    for a in _KEYS[key].attrs:
        obj = getattr(obj, a)
    return obj


def _unwrap(options: Mapping[str, Any] | None) -> dict[str, Any]:
    if not options:
        return {}
    if SECTION in options and isinstance(options[SECTION], Mapping):
        return _flatten(options[SECTION])
    flat = _flatten(options)
    return {k.removeprefix(SECTION + "."): v for k, v in flat.items()}


def load(
    env: Mapping[str, str] | None = None,
    init_options: Mapping[str, Any] | None = None,
    workspace: Mapping[str, Any] | None = None,
) -> tuple[Settings, list[str]]:
    """Build Settings from all layers; return it with sentences for each invalid value."""
    env = os.environ if env is None else env
    settings = Settings()
    problems: list[str] = []

    def apply(key: str, value: Any, source: str, from_env: bool) -> None:
        info = _KEYS.get(key)
        if info is None:
            problems.append(f"Unknown setting {SECTION}.{key} in {source} is ignored.")
            return
        try:
            _set(settings, info.attrs, _coerce(info, value, from_env=from_env))
        except InvalidValue as exc:
            problems.append(
                f"Setting {SECTION}.{key} from {source}: {exc}; using "
                f"{json.dumps(get(settings, key))} instead."
            )

    for info in _KEYS.values():
        name = env_name(info.key)
        if name in env:
            apply(info.key, env[name], f"environment variable {name}", True)
    pushed = _unwrap(workspace)
    # null in the workspace configuration: the user reset that key, so what the client sent
    # in initializationOptions at start no longer holds (the environment and default do).
    reset = {k for k, v in pushed.items() if v is None}
    for source, layer in (
        ("initializationOptions", _unwrap(init_options)),
        ("workspace configuration", pushed),
    ):
        for key, value in layer.items():
            if value is None or (key in reset and layer is not pushed):
                continue
            apply(key, value, source, False)
    if env.get("MIRA_DB"):
        settings.database_path = env["MIRA_DB"]
    return settings, problems


def markdown_table() -> str:
    """The README's configuration table, generated so it never drifts from the code."""
    rows = ["| key | env var | default | meaning |", "| --- | --- | --- | --- |"]
    for k in keys():
        default = json.dumps(k.default)
        rows.append(f"| `{SECTION}.{k.key}` | `{env_name(k.key)}` | `{default}` | {k.doc} |")
    return "\n".join(rows)
