#!/usr/bin/env bash
# Runs a command with a Pulumi CLI on PATH: the user's own `pulumi` when there is one, else the CLI,
# language host and Kubernetes provider that engine/build.sh builds from Go modules (cached after the
# first build), so `make preview|up|destroy` work on an offline or air-gapped machine too.
set -euo pipefail
engine="$(cd "$(dirname "$0")" && pwd)"
if [[ -z "${KSERVE_INTEL_ENGINE:-}" ]] && command -v pulumi >/dev/null 2>&1; then
  exec "$@"
fi
bin="$("$engine/build.sh" pulumi provider | tail -n 1)"
export PATH="$bin:$PATH"
# Nothing to download: the provider goes into the plugin cache at the SDK's version (once), PATH lookups
# of plugins are off, and no update check reaches out.
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_IGNORE_AMBIENT_PLUGINS=true
version="$(sed -n 's/^VERSION=v//p' "$engine/provider/component.sh")"
if [[ ! -x "${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-kubernetes-v$version/pulumi-resource-kubernetes" ]]; then
  pulumi plugin install resource kubernetes "$version" --file "$bin/pulumi-resource-kubernetes" >&2
fi
exec "$@"
