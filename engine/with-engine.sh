#!/usr/bin/env bash
# Runs a command with a Pulumi CLI on PATH: the user's own `pulumi` when there is one, else the CLI,
# language host and Kubernetes provider that engine/build.sh builds from Go modules (cached after the
# first build), so `make preview|up|destroy` work on an offline or air-gapped machine too.
set -euo pipefail
if [[ -z "${KSERVE_INTEL_ENGINE:-}" ]] && command -v pulumi >/dev/null 2>&1; then
  exec "$@"
fi
bin="$("$(dirname "$0")/build.sh" pulumi provider | tail -n 1)"
export PATH="$bin:$PATH"
# Nothing to download: the provider is on PATH at the SDK's version, and no update check can reach out.
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
exec "$@"
