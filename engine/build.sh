#!/usr/bin/env bash
# Builds the real toolchain (Pulumi CLI, language host, Kubernetes provider, control plane, kwok, KServe)
# from Go modules into a cache outside the clone, keyed by component and version, and prints as its last
# line the directory that holds every binary (scripts rely on that line).
#
# Each engine/<component>/component.sh defines:
#   NAME      cache key prefix, e.g. pulumi
#   VERSION   pinned version, part of the cache key
#   BINARIES  space-separated file names the build leaves in "$OUT"
#   build     a function that builds into "$OUT" (cwd is the component's folder)
# Usage: engine/build.sh [component ...]   (default: all of them)
set -euo pipefail
ENGINE_DIR="$(cd "$(dirname "$0")" && pwd)"
CACHE_ROOT="${KSERVE_INTEL_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kserve-intel/engine}"
COMPONENTS=(${@:-pulumi provider kubernetes etcd kwok kserve-v0.20 kserve-v0.13})
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" GOTOOLCHAIN=local

log() { printf '[engine] %s\n' "$*" >&2; }

keys=()
for comp in "${COMPONENTS[@]}"; do
  [[ -f "$ENGINE_DIR/$comp/component.sh" ]] || { log "unknown component: $comp"; exit 2; }
  (
    unset NAME VERSION BINARIES
    # shellcheck source=/dev/null
    source "$ENGINE_DIR/$comp/component.sh"
    OUT="$CACHE_ROOT/$NAME-$VERSION"
    missing=0
    for b in $BINARIES; do [[ -x "$OUT/$b" ]] || missing=1; done
    if (( missing == 0 )); then
      log "$comp $VERSION: cached in $OUT"
      exit 0
    fi
    log "$comp $VERSION: building ..."
    start=$(date +%s)
    tmp="$OUT.partial"
    rm -rf "$tmp" && mkdir -p "$tmp"
    cd "$ENGINE_DIR/$comp"
    OUT="$tmp" build >&2
    for b in $BINARIES; do [[ -x "$tmp/$b" ]] || { log "$comp: build left no $b"; exit 1; }; done
    rm -rf "$OUT" && mv "$tmp" "$OUT"
    log "$comp $VERSION: built in $(( $(date +%s) - start )) s"
  )
  keys+=("$(source "$ENGINE_DIR/$comp/component.sh" && echo "$NAME-$VERSION")")
done

# One folder of links to every component's binaries: what PATH and the scripts use.
BIN="$CACHE_ROOT/bin-$(printf '%s\n' "${keys[@]}" | sort | sha256sum | cut -c1-12)"
mkdir -p "$BIN"
for key in "${keys[@]}"; do
  for f in "$CACHE_ROOT/$key"/*; do
    [[ -f "$f" && -x "$f" ]] && ln -sfn "$f" "$BIN/$(basename "$f")"
  done
done
echo "$BIN"
