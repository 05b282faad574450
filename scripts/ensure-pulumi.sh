#!/usr/bin/env bash
# Make a Pulumi CLI of the pinned version available, building it from Go modules when needed.
# Prints the directory holding `pulumi` on its last line of stdout; progress goes to stderr.
# Why a build: no package registry ships the CLI binary (docs/pulumi-cli.md).
set -euo pipefail

V="${CWROLES_PULUMI_VERSION:-v3.259.0}"
CACHE="${CWROLES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cwroles}"
DEST="$CACHE/pulumi-$V"
BIN="$DEST/bin"
log() { printf '[pulumi %s] %s\n' "$V" "$*" >&2; }

have_version() {  # $1 = pulumi binary; true when it prints the pinned version
  [[ -x "$1" ]] && [[ "$("$1" version 2>/dev/null)" == "$V" ]]
}

# 1. A user who installed the pinned version the usual way does not wait for a build.
if p=$(command -v pulumi 2>/dev/null) && have_version "$p" \
   && command -v pulumi-language-python >/dev/null 2>&1; then
  log "using $p from PATH"
  dirname "$p"; exit 0
fi
# 2. A build cached by an earlier run (any clone on this machine).
if have_version "$BIN/pulumi" && [[ -x "$BIN/pulumi-language-python" && -f "$BIN/pulumi-language-python-exec" && -x "$BIN/pulumi-resource-pulumi-python" ]]; then
  log "using cached build in $BIN"
  echo "$BIN"; exit 0
fi

# 3. Build from Go modules.
command -v go >/dev/null || { log "Go is required to build the Pulumi CLI (https://go.dev/dl/); none on PATH"; exit 1; }
log "building pulumi and pulumi-language-python from Go modules (takes several minutes the first time)"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOPATH="$CACHE/gopath" GOMODCACHE="$CACHE/gomodcache"
WORK="$DEST/build"
rm -rf "$WORK"; mkdir -p "$WORK" "$BIN"
cd "$WORK"
go mod init local.invalid/cwroles-pulumi-build >/dev/null 2>&1
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
GO
# The non-local replace directives of pkg/go.mod and sdk/go.mod (go install refuses modules with replaces).
go mod edit -replace=github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e
go mod edit -replace=golang.org/x/text=golang.org/x/text@v0.39.0
log "step 1/4: resolving pkg/v3 and sdk/v3 @ $V"
go get "github.com/pulumi/pulumi/pkg/v3@$V" "github.com/pulumi/pulumi/sdk/v3@$V" 2>&1 | tail -3 >&2
# The language host has no tags: fetch it at the release commit (a pseudo-version).
go get "github.com/pulumi/pulumi/pkg/v3@$V" "github.com/pulumi/pulumi/sdk/v3@$V" 2>&1 | tail -3 >&2
go mod tidy 2>&1 | tail -3 >&2
got=$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3 github.com/pulumi/pulumi/sdk/v3 | sort -u)
[[ "$got" == "$V" ]] || { log "version skew after resolution: $got (wanted $V)"; exit 1; }
log "step 3/4: compiling (several minutes on 2 cores)"
go build -trimpath -tags osusergo,grpcnotrace \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$V" \
  -o "$BIN/" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
log "step 4/4: installing the Python helper scripts"
SDK=$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$SDK/python/dist/pulumi-resource-pulumi-python" "$SDK/python/cmd/pulumi-language-python-exec" "$BIN/"
have_version "$BIN/pulumi" || { log "built pulumi does not report $V"; exit 1; }
rm -rf "$WORK"
log "done: $BIN"
echo "$BIN"
