#!/usr/bin/env bash
# Make a Pulumi CLI of the pinned version available, building it from Go modules when needed.
# Prints the directory holding `pulumi` on the last line of stdout; progress goes to stderr.
# Why a build, why this version, why our own language host: docs/pulumi-cli.md.
set -euo pipefail

V="${CWROLES_PULUMI_VERSION:-v3.274.1}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CWROLES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cwroles}"
DEST="$CACHE/pulumi-$V"
BIN="$DEST/bin"
HOST_SRC="$REPO/tools/pulumi-language-python/main.go"
log() { printf '[pulumi %s] %s\n' "$V" "$*" >&2; }

have_version() { [[ -x "$1" ]] && [[ "$("$1" version 2>/dev/null)" == "$V" ]]; }
host_stamp() { cat "$HOST_SRC" "$REPO/tools/pulumi-resource-pulumi-python" | sha256sum | cut -c1-16; }

# 1. A user who installed the pinned version the usual way does not wait for a build.
if p=$(command -v pulumi 2>/dev/null) && have_version "$p" && [[ "$(dirname "$p")" != "$BIN" ]] \
   && command -v pulumi-language-python >/dev/null 2>&1; then
  log "using $p from PATH"
  dirname "$p"; exit 0
fi

need_cli=1; need_host=1
have_version "$BIN/pulumi" && need_cli=0
[[ -x "$BIN/pulumi-language-python" && -f "$BIN/.host-stamp" && "$(cat "$BIN/.host-stamp")" == "$(host_stamp)" ]] && need_host=0
if ((need_cli == 0 && need_host == 0)) && [[ -f "$BIN/pulumi-language-python-exec" && -x "$BIN/pulumi-resource-pulumi-python" ]]; then
  log "using cached build in $BIN"
  echo "$BIN"; exit 0
fi

command -v go >/dev/null || { log "Go (>= 1.25) is required to build the Pulumi CLI; install it from your OS packages or https://go.dev/dl/"; exit 1; }
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOPATH="$CACHE/gopath" GOMODCACHE="$CACHE/gomodcache" GOCACHE="$CACHE/gocache"
WORK="$DEST/build"
mkdir -p "$WORK" "$BIN"
cd "$WORK"
LDFLAGS="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$V"

if [[ ! -f go.mod ]] || ((need_cli)); then
  log "step 1/4: resolving github.com/pulumi/pulumi/pkg/v3 and sdk/v3 @ $V (first time: ~1 GB of modules)"
  rm -f go.mod go.sum tools.go
  go mod init local.invalid/cwroles-pulumi-build >/dev/null 2>&1
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' > tools.go
  # The non-local replace directives of pkg/go.mod and sdk/go.mod (go install refuses modules with replaces).
  go mod edit -replace=github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e
  go mod edit -replace=golang.org/x/text=golang.org/x/text@v0.39.0
  go get "github.com/pulumi/pulumi/pkg/v3@$V" "github.com/pulumi/pulumi/sdk/v3@$V" 2>&1 | grep -v '^go: downloading' >&2 || true
  mkdir -p langhost && cp "$HOST_SRC" langhost/main.go
  go mod tidy 2>&1 | grep -v '^go: downloading' >&2 || true
  go get "github.com/pulumi/pulumi/pkg/v3@$V" "github.com/pulumi/pulumi/sdk/v3@$V" 2>&1 | grep -v '^go: downloading' >&2 || true
  got=$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3 github.com/pulumi/pulumi/sdk/v3 | sort -u)
  [[ "$got" == "$V" ]] || { log "version skew after resolution: $got (wanted $V)"; exit 1; }
fi
if ((need_cli)); then
  log "step 2/4: compiling pulumi (10-20 minutes on 2 cores the first time)"
  go build -trimpath -tags osusergo,grpcnotrace -ldflags "$LDFLAGS" -o "$BIN/" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
fi
log "step 3/4: compiling cwroles' pulumi-language-python (tools/pulumi-language-python)"
mkdir -p langhost && cp "$HOST_SRC" langhost/main.go
go build -trimpath -tags osusergo,grpcnotrace -ldflags "$LDFLAGS" -o "$BIN/pulumi-language-python" ./langhost
host_stamp > "$BIN/.host-stamp"
log "step 4/4: installing the Python executor script and the dynamic-provider launcher"
SDK=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$SDK/python/cmd/pulumi-language-python-exec" "$BIN/"
# Our launcher for the dynamic-provider plugin (adds the import fix, see provider/_dynamic_host.py).
install -m 0755 "$REPO/tools/pulumi-resource-pulumi-python" "$BIN/"
have_version "$BIN/pulumi" || { log "built pulumi does not report $V"; exit 1; }
log "done: $BIN"
echo "$BIN"
