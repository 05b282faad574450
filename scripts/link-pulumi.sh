#!/usr/bin/env bash
# So that a plain shell can run what the docs write after `make setup` — `pulumi`, `cwroles`, `cwsim`:
# link them into ~/.local/bin. The pinned CLI (and its plugins) only when no pulumi of the pinned
# version is already on PATH; cwroles and cwsim from this checkout's .venv unless ~/.local/bin has a
# non-link of that name (e.g. a pipx install), which is left alone.
set -euo pipefail
BIN="$1"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$HOME/.local/bin"
linked=()
want="$("$BIN/pulumi" version)"
if [[ "$(command -v pulumi 2>/dev/null || true)" != "$BIN/pulumi" && "$(pulumi version 2>/dev/null || true)" != "$want" ]]; then
  mkdir -p "$LOCAL"
  for f in pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python; do
    ln -sf "$BIN/$f" "$LOCAL/$f"
  done
  linked+=("pulumi $want")
fi
for f in cwroles cwsim; do
  [[ -x "$REPO/.venv/bin/$f" ]] || continue
  if [[ -e "$LOCAL/$f" && ! -L "$LOCAL/$f" ]]; then
    echo "    $LOCAL/$f exists and is not a link: left alone (this checkout's is $REPO/.venv/bin/$f)"
    continue
  fi
  mkdir -p "$LOCAL"
  ln -sfn "$REPO/.venv/bin/$f" "$LOCAL/$f"
  linked+=("$f")
done
if ((${#linked[@]})); then
  printf -v names '%s, ' "${linked[@]}"
  case ":$PATH:" in
    *":$LOCAL:"*) echo "    linked ${names%, } into ~/.local/bin" ;;
    *) echo "    linked ${names%, } into ~/.local/bin — add it to PATH: export PATH=\"\$HOME/.local/bin:\$PATH\"" ;;
  esac
fi
# No global `pulumi login` here: the project's commands set PULUMI_BACKEND_URL themselves (scripts/with-pulumi-env.sh).
