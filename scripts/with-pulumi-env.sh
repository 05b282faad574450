#!/usr/bin/env bash
# Run a command with the project's Pulumi defaults: the pinned CLI and the virtualenv first on PATH,
# a file backend inside the repository (unless you already use another backend) and a passphrase
# secrets provider (unless you set your own). Nothing needs Pulumi Cloud or a login.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -f "$REPO/.cwroles/pulumi-bin" ]]; then
  PATH="$(cat "$REPO/.cwroles/pulumi-bin"):$PATH"
fi
export PATH="$REPO/.venv/bin:$PATH"
logged_in() { [[ -f "${PULUMI_HOME:-$HOME/.pulumi}/credentials.json" ]] && grep -q '"current": *"[^"]' "${PULUMI_HOME:-$HOME/.pulumi}/credentials.json"; }
if [[ -z "${PULUMI_BACKEND_URL:-}" ]] && ! logged_in; then
  export PULUMI_BACKEND_URL="file://$REPO/.state"
  mkdir -p "$REPO/.state"
fi
if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  export PULUMI_CONFIG_PASSPHRASE="cwroles-local"
fi
export PULUMI_SKIP_UPDATE_CHECK=true
exec "$@"
