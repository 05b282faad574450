#!/usr/bin/env bash
# So that a plain shell can run `pulumi up` after `make setup`: link the built CLI into ~/.local/bin
# (only when no pulumi of the pinned version is already on PATH), and point a user who has no Pulumi
# login at the repository's file backend.
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
creds="${PULUMI_HOME:-$HOME/.pulumi}/credentials.json"
if [[ -z "${PULUMI_BACKEND_URL:-}" ]] && ! { [[ -f "$creds" ]] && grep -q '"current": *"[^"]' "$creds"; }; then
  mkdir -p "$REPO/.state"
  PULUMI_SKIP_UPDATE_CHECK=true "$BIN/pulumi" login --non-interactive "file://$REPO/.state" >/dev/null
  echo "    no Pulumi login found: logged in to the local file backend file://$REPO/.state"
fi
