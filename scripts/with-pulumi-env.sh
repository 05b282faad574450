#!/usr/bin/env bash
# Run a command with the project's Pulumi defaults: the pinned CLI and the virtualenv first on PATH,
# this checkout's file backend (.state/, unless you set PULUMI_BACKEND_URL yourself) and a passphrase
# secrets provider (unless you set your own). Nothing needs Pulumi Cloud or a login, and nothing
# changes your global `pulumi login` (Pulumi.yaml names the same backend for a plain shell).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -f "$REPO/.cwroles/pulumi-bin" ]]; then
  PATH="$(cat "$REPO/.cwroles/pulumi-bin"):$PATH"
fi
export PATH="$REPO/.venv/bin:$PATH"
if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
  export PULUMI_BACKEND_URL="file://$REPO/.state"
  mkdir -p "$REPO/.state"
fi
if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  export PULUMI_CONFIG_PASSPHRASE="cwroles-local"
fi
export PULUMI_SKIP_UPDATE_CHECK=true
port="${CWROLES_EMULATOR_PORT:-8765}"
echo "cwroles: Pulumi state: $PULUMI_BACKEND_URL · emulator (for stacks with connectwise:site: emulator):" \
     "http://127.0.0.1:$port, database $REPO/.cwsim/tenant.sqlite" >&2
exec "$@"
