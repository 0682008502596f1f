#!/usr/bin/env bash
# Build, unit-test and package the VS Code extension. Run from anywhere; .ci/run calls it.
# Needs Node 20 and npm; no VS Code download (the extension's logic is tested with node:test).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run build
npm test
npx --no-install vsce package -o mira-ls.vsix
# The package must contain the compiled entry point and the runtime client library.
python3 - <<'PY'
import sys, zipfile
names = zipfile.ZipFile("mira-ls.vsix").namelist()
need = ["extension/package.json", "extension/out/src/extension.js", "extension/LICENSE.txt",
        "extension/node_modules/vscode-languageclient/package.json"]
missing = [n for n in need if n not in names]
leaked = [n for n in names if n.startswith(("extension/src/", "extension/out/test/", "extension/e2e/"))]
if missing or leaked:
    sys.exit(f"mira-ls.vsix is wrong: missing {missing}, should not contain {leaked[:5]}")
print(f"mira-ls.vsix: {len(names)} files")
PY
echo "editors/vscode: built, tested and packaged $(pwd)/mira-ls.vsix"
