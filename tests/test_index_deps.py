"""external_dependencies from imports leaving the workspace and from manifests."""

from __future__ import annotations

from pathlib import Path

from mira_ls.store import dependencies as dep_store
from mira_ls.store.dependencies import dependencies
from tests.index_helpers import index, new_store, write_files

FILES = {
    "pyproject.toml": '[project]\nname = "app"\ndependencies = ["requests>=2.31", '
    "\"click[extra] ; python_version > '3'\"]\n[project.optional-dependencies]\n"
    'test = ["pytest>=8", "requests"]\n',
    "requirements-dev.txt": "# tools\nruff==0.8.0\n-r other.txt\n\nmypy\n",
    "app/__init__.py": "",
    "app/main.py": "import os\nimport requests\nimport numpy as np\nfrom . import util\n"
    "from app.util import helper\n\n\ndef run():\n    return helper()\n",
    "app/util.py": "import yaml.loader\n\n\ndef helper():\n    return 1\n",
    "web/package.json": '{"dependencies": {"react": "^18.2.0"}, '
    '"devDependencies": {"@types/node": "20"}}',
    "web/index.ts": 'import React from "react";\nimport { x } from "@scope/pkg/sub";\n'
    'import fs from "node:fs";\nimport { y } from "./local";\n',
    "rs/Cargo.toml": '[dependencies]\nserde = { version = "1", features = ["derive"] }\n'
    '[dev-dependencies]\ntokio = "1"\n',
    "rs/src/main.rs": "use serde::Serialize;\nuse std::io;\nuse crate::x::y;\nfn main() {}\n",
    "go/go.mod": "module example.com/app\n\ngo 1.22\n\n"
    "require (\n\tgithub.com/pkg/errors v0.9.1\n)\n",
    "go/main.go": 'package main\n\nimport (\n\t"fmt"\n\t"github.com/pkg/errors/sub"\n'
    '\t"example.com/app/internal"\n)\n\nfunc main() {}\n',
    "c/main.c": '#include <stdio.h>\n#include <zlib.h>\n#include "local.h"\n'
    "int main(void) { return 0; }\n",
    "bad/pyproject.toml": "this is [not toml",
    "bad/x.py": "x = 1\n",
}


def test_dependencies_from_imports_and_manifests(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_files(root, FILES)
    store = new_store(tmp_path)
    stats = index(store, root)
    deps = dependencies(store.conn(), stats.project_id)
    got = {(d.ecosystem, d.name, d.source) for d in deps}
    assert {
        ("python", "requests", "manifest"),
        ("python", "click", "manifest"),
        ("python", "pytest", "manifest"),
        ("python", "ruff", "manifest"),
        ("python", "mypy", "manifest"),
        ("python", "requests", "import"),
        ("python", "numpy", "import"),
        ("python", "yaml", "import"),
        ("npm", "react", "manifest"),
        ("npm", "@types/node", "manifest"),
        ("npm", "react", "import"),
        ("npm", "@scope/pkg", "import"),
        ("cargo", "serde", "manifest"),
        ("cargo", "tokio", "manifest"),
        ("cargo", "serde", "import"),
        ("go", "github.com/pkg/errors", "manifest"),
        ("go", "github.com/pkg/errors", "import"),
        ("c", "zlib.h", "import"),
    } == got
    by = {(d.ecosystem, d.name, d.source, d.file_path): d for d in deps}
    req = by[("python", "requests", "manifest", "pyproject.toml")]
    assert req.version_spec == ">=2.31" and not req.is_dev and req.manifest_path == "pyproject.toml"
    assert by[("python", "pytest", "manifest", "pyproject.toml")].is_dev
    assert by[("python", "ruff", "manifest", "requirements-dev.txt")].version_spec == "==0.8.0"
    assert by[("cargo", "serde", "manifest", "rs/Cargo.toml")].version_spec == "1"
    assert by[("npm", "@types/node", "manifest", "web/package.json")].is_dev
    imp = by[("python", "numpy", "import", "app/main.py")]
    assert imp.line == 3 and imp.manifest_path is None
    # stdlib, relative and project-internal imports are not dependencies
    names = {d.name for d in deps}
    assert not names & {"os", "fs", "node:fs", "std", "fmt", "stdio.h", "app", "./local"}
    # re-indexing replaces, never duplicates
    (root / "app/util.py").write_text("def helper():\n    return 1\n")
    stats = index(store, root)
    names = {(d.name, d.source) for d in dependencies(store.conn(), stats.project_id)}
    assert ("yaml", "import") not in names and ("numpy", "import") in names


def test_an_index_that_changed_nothing_keeps_the_dependencies_and_a_change_recomputes_them(
    tmp_path: Path,
) -> None:
    root = tmp_path / "ws"
    write_files(
        root,
        {
            "requirements.txt": "requests>=2\n",
            "app/main.py": "import numpy\n\n\ndef run():\n    return 1\n",
        },
    )
    store = new_store(tmp_path)
    pid = index(store, root).project_id
    conn = store.conn()

    def rows() -> set[tuple[str, str]]:
        return {(d.name, d.source) for d in dependencies(conn, pid)}

    assert rows() == {("requests", "manifest"), ("numpy", "import")}
    basis = dep_store.basis(conn, pid)
    assert basis is not None
    # nothing changed: the rows stay, computed from the same basis (not recomputed: a row
    # planted by hand would be gone after a recompute)
    conn.execute(
        "INSERT INTO external_dependencies(project_id, name, ecosystem, source, file_path)"
        " VALUES (?, 'planted', 'python', 'import', 'app/main.py')",
        (pid,),
    )
    conn.commit()
    index(store, root)
    assert ("planted", "import") in rows()
    assert dep_store.basis(conn, pid) == basis
    # a manifest edited (no source changed) recomputes them
    (root / "requirements.txt").write_text("requests>=2\nrich\n")
    index(store, root)
    assert rows() == {("requests", "manifest"), ("rich", "manifest"), ("numpy", "import")}
    # so does a source file's import
    (root / "app/main.py").write_text("import yaml\n\n\ndef run():\n    return 1\n")
    index(store, root)
    assert ("yaml", "import") in rows() and ("numpy", "import") not in rows()
    assert dep_store.basis(conn, pid) != basis
