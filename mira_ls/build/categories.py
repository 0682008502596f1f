"""An error's category from its tool's code family (CONVENTIONS: type, import, syntax, name,
attribute, test-failure, lint, other), so errors of different tools can be compared.

Unused imports are lint everywhere; "import" means an import that cannot be resolved.
"""

from __future__ import annotations

CATEGORIES = ("type", "import", "syntax", "name", "attribute", "test-failure", "lint", "other")

_RUFF = {
    "F821": "name",
    "F822": "name",
    "F823": "name",
    "F811": "name",
    "E999": "syntax",
    "E902": "other",
}
_MYPY_NAME = {"name-defined", "used-before-def", "no-redef"}
_MYPY_ATTR = {"attr-defined", "union-attr"}
_MYPY_IMPORT = {"import", "import-not-found", "import-untyped"}
_MYPY_OTHER = {"misc", "note"}
_TS_NAME = {"TS2304", "TS2552", "TS2582", "TS2583", "TS2584", "TS2448", "TS2454", "TS2300"}
_TS_IMPORT = {"TS2307", "TS2305", "TS2306", "TS2792", "TS7016", "TS2614", "TS2724", "TS1192"}
_TS_ATTR = {"TS2339", "TS2551", "TS2353", "TS2741"}
_TS_LINT = {"TS6133", "TS6138", "TS6192", "TS6196", "TS6198", "TS7027", "TS7028", "TS7030"}
_RUST_IMPORT = {"E0432", "E0433", "E0583", "E0463", "E0603"}
_RUST_NAME = {"E0425", "E0412", "E0422", "E0423", "E0424", "E0426", "E0531", "E0405", "E0428"}
_RUST_ATTR = {"E0599", "E0609", "E0560", "E0615", "E0616", "E0624"}
_PY_EXC = {
    "NameError": "name",
    "UnboundLocalError": "name",
    "AttributeError": "attribute",
    "ImportError": "import",
    "ModuleNotFoundError": "import",
    "SyntaxError": "syntax",
    "IndentationError": "syntax",
    "TabError": "syntax",
    "TypeError": "type",
}
_GO = {
    "undefined": "name",
    "type-mismatch": "type",
    "could-not-import": "import",
    "syntax": "syntax",
    "missing-field-or-method": "attribute",
    "unused-import": "lint",
    "unused-variable": "lint",
}


def _ruff(code: str) -> str:
    if code in _RUFF:
        return _RUFF[code]
    if not code or code in ("invalid-syntax", "syntax-error"):
        return "syntax"
    return "lint"


def _mypy(code: str) -> str:
    if code in _MYPY_NAME:
        return "name"
    if code in _MYPY_ATTR:
        return "attribute"
    if code in _MYPY_IMPORT:
        return "import"
    if code == "syntax":
        return "syntax"
    if code in _MYPY_OTHER or not code:
        return "other"
    return "type"


def _tsc(code: str) -> str:
    if code in _TS_NAME:
        return "name"
    if code in _TS_IMPORT:
        return "import"
    if code in _TS_ATTR:
        return "attribute"
    if code in _TS_LINT:
        return "lint"
    digits = code[2:]
    if digits.isdigit() and 1000 <= int(digits) < 2000:
        return "syntax"
    if digits.isdigit() and (2000 <= int(digits) < 3000 or 7000 <= int(digits) < 8000):
        return "type"
    return "other"


def _cargo(code: str, message: str) -> str:
    if code in _RUST_IMPORT:
        return "import"
    if code in _RUST_NAME:
        return "name"
    if code in _RUST_ATTR:
        return "attribute"
    if code.startswith("E0"):
        return "type"
    if code:  # rustc and clippy lints: unused_imports, dead_code, clippy::...
        return "lint"
    return (
        "syntax"
        if message.startswith(("expected", "unexpected", "mismatched closing"))
        else "other"
    )


def category_for(tool: str, code: str, message: str = "") -> str:
    """The category of one error; 'other' when the code family says nothing."""
    if tool == "ruff":
        return _ruff(code)
    if tool == "mypy":
        return _mypy(code)
    if tool == "pytest":
        return _PY_EXC.get(code, "test-failure")
    if tool == "tsc":
        return _tsc(code)
    if tool == "cargo":
        return _cargo(code, message)
    if tool == "go":
        return _GO.get(code, "lint" if code.startswith("vet-") else "other")
    return "other"
