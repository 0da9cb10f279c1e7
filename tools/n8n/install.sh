#!/bin/sh
# Install the n8n the tests run into $N8N_DIR (`make n8n` calls this), from this folder's
# package.json and package-lock.json (n8n pinned; "overrides" take xlsx from npm, as
# n8n-nodes-base names a CDN tarball):
#   1. npm ci --ignore-scripts --prefer-offline (the lock pins every tarball's integrity, so
#      npm's cache answers without asking the registry again): no install scripts (isolated-vm
#      & co need Node 22 or fetch binaries from GitHub, out of reach here; the tests run
#      N8N_EXPRESSION_ENGINE=legacy);
#   2. sqlite3's native module, the one n8n needs: compiled by `npm rebuild sqlite3` (~100 s;
#      its prebuilt binaries are on GitHub), then kept in npm's cache, which outlives the
#      data dir, so the next install copies it instead;
#   3. checks that sqlite3 loads and `n8n --version` answers.
# A failure does not stop `make`: the reason goes to $N8N_DIR/install-failed.txt, which the
# n8n tests report when they fail.
# Environment: N8N_DIR (required), NPM (default: npm on PATH).
set -u
here=$(cd "$(dirname "$0")" && pwd)
npm=${NPM:-npm}
mkdir -p "$N8N_DIR"
cp "$here/package.json" "$here/package-lock.json" "$N8N_DIR/"
cd "$N8N_DIR" || exit 1
rm -f install-failed.txt .installed
: >install.log

fail() {
    { echo "n8n install failed: $1"; tail -n 40 install.log; } >install-failed.txt
    echo "n8n install failed ($1), its tests will fail: see $N8N_DIR/install.log" >&2
    exit 0
}

"$npm" ci --ignore-scripts --prefer-offline --no-audit --no-fund >>install.log 2>&1 || fail "npm ci"

binary=node_modules/sqlite3/build/Release/node_sqlite3.node
key=$(node -p 'const p = require("./node_modules/sqlite3/package.json");
  `sqlite3-${p.version}-node${process.versions.node.split(".")[0]}-${process.platform}-${process.arch}`')
cached="$("$npm" config get cache)/_prebuilds/reportbook-$key.node"
loads() { node -e 'require("sqlite3")' >>install.log 2>&1; }
if [ -f "$cached" ]; then
    mkdir -p "$(dirname "$binary")" && cp "$cached" "$binary"
    echo "sqlite3: copied $cached" >>install.log
fi
if ! loads; then
    "$npm" rebuild sqlite3 >>install.log 2>&1 || fail "npm rebuild sqlite3"
    loads || fail "sqlite3 does not load after npm rebuild"
    mkdir -p "$(dirname "$cached")" && cp "$binary" "$cached.tmp.$$" && mv "$cached.tmp.$$" "$cached"
fi
node node_modules/n8n/bin/n8n --version >>install.log 2>&1 || fail "n8n --version"
touch .installed
