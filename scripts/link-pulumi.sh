#!/usr/bin/env bash
# So that a plain shell can run `pulumi up` after `make setup`: link the built CLI into ~/.local/bin
# (only when no pulumi of the pinned version is already on PATH).
set -euo pipefail
BIN="$1"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want="$("$BIN/pulumi" version)"
if [[ "$(command -v pulumi 2>/dev/null || true)" != "$BIN/pulumi" && "$(pulumi version 2>/dev/null || true)" != "$want" ]]; then
  mkdir -p "$HOME/.local/bin"
  for f in pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python; do
    ln -sf "$BIN/$f" "$HOME/.local/bin/$f"
  done
  case ":$PATH:" in
    *":$HOME/.local/bin:"*) echo "    linked pulumi $want into ~/.local/bin" ;;
    *) echo "    linked pulumi $want into ~/.local/bin — add it to PATH: export PATH=\"\$HOME/.local/bin:\$PATH\"" ;;
  esac
fi
# No global `pulumi login` here: the project's commands set PULUMI_BACKEND_URL themselves (scripts/with-pulumi-env.sh).
