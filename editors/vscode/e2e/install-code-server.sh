#!/usr/bin/env bash
# Install code-server (VS Code in a browser) from npm for the end-to-end test, offline except
# for the npm registry. Usage: install-code-server.sh [PREFIX]
#   PREFIX defaults to ~/.cache/mira-ls/code-server-4.100.3; the launcher ends up in
#   PREFIX/node_modules/.bin/code-server (tests/lsp/test_vscode_e2e.py looks there).
#
# code-server 4.100.3 is VS Code 1.100.3 and the last release that runs on Node 20. Its
# postinstall builds native modules (kerberos needs libkrb5-dev; node-gyp needs a C++
# compiler, make, python3 and Node's headers), and @vscode/ripgrep's postinstall downloads rg
# from GitHub. We satisfy that download from its own cache: it looks for
# $TMPDIR/vscode-ripgrep-cache-<package version>/ripgrep-<rg tag>-<target>.tar.gz before
# going to the network, so a tarball holding Debian's /usr/bin/rg placed there is used as is.
set -euo pipefail
VERSION=4.100.3
PREFIX="${1:-${HOME}/.cache/mira-ls/code-server-${VERSION}}"
RG="$(command -v rg || true)"
if [ -z "$RG" ]; then
  echo "install-code-server: ripgrep (rg) is not installed: apt-get install ripgrep" >&2
  exit 1
fi
if [ -x "$PREFIX/node_modules/.bin/code-server" ] \
  && "$PREFIX/node_modules/.bin/code-server" --version 2>/dev/null | grep -q "^$VERSION"; then
  echo "code-server $VERSION already installed in $PREFIX"
  exit 0
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" != 20 ]; then
  echo "install-code-server: code-server $VERSION needs Node 20, this is Node $node_major" >&2
  exit 1
fi
mkdir -p "$PREFIX"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The versions the ripgrep postinstall will ask for: @vscode/ripgrep's version is pinned by
# code-server's lib/vscode/npm-shrinkwrap.json, the rg tag by that package's postinstall.js.
(cd "$work" && npm pack --silent "code-server@$VERSION" >/dev/null && tar xzf "code-server-$VERSION.tgz")
rg_pkg_version="$(node -p "require('$work/package/lib/vscode/npm-shrinkwrap.json').packages['node_modules/@vscode/ripgrep'].version")"
(cd "$work" && npm pack --silent "@vscode/ripgrep@$rg_pkg_version" >/dev/null && mkdir rgpkg \
  && tar xzf "vscode-ripgrep-$rg_pkg_version.tgz" -C rgpkg)
rg_tag="$(sed -n "s/^const VERSION = '\(.*\)';/\1/p" "$work/rgpkg/package/lib/postinstall.js")"
case "$(uname -m)" in
  x86_64) target=x86_64-unknown-linux-musl ;;
  aarch64) target=aarch64-unknown-linux-musl ;;
  *) echo "install-code-server: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
tmp="${TMPDIR:-/tmp}"
cache="$tmp/vscode-ripgrep-cache-$rg_pkg_version"
mkdir -p "$cache" "$work/rgbin"
cp "$RG" "$work/rgbin/rg"
tar czf "$cache/ripgrep-$rg_tag-$target.tar.gz" -C "$work/rgbin" rg
echo "ripgrep: seeded $cache/ripgrep-$rg_tag-$target.tar.gz with $RG"

# Node's headers for node-gyp without a download (Debian/NodeSource packages ship them).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
  export npm_config_nodedir=/usr
fi
export npm_config_unsafe_perm=true
# node-pty's postinstall runs `npx node-gyp`: let npx fetch it from the registry without asking.
export npm_config_yes=true
npm install --prefix "$PREFIX" --no-audit --no-fund --omit=dev "code-server@$VERSION"
"$PREFIX/node_modules/.bin/code-server" --version
