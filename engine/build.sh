#!/usr/bin/env bash
# Builds the real toolchain (Pulumi CLI, language host, Kubernetes provider, control plane, kwok, KServe)
# from Go modules into a cache outside the clone, and prints as its last line the directory that holds every
# binary (scripts rely on that line).
#
# Each engine/<component>/component.sh defines:
#   NAME      cache key prefix, e.g. pulumi
#   VERSION   pinned version, part of the cache key
#   BINARIES  space-separated file names the build leaves in "$OUT"
#   build     a function that builds into "$OUT" (cwd is the component's folder)
# The cache key is NAME-VERSION-<hash of the component's folder>, so a change to our wrapper (main.go, go.mod,
# component.sh) rebuilds it on every machine, not only on those that never built that version.
#
# Nothing is assumed to be on the machine but Go and the module proxy: `go build` downloads the modules it
# compiles, and `module_dir` downloads a module before a build reads files from it.
# Usage: engine/build.sh [component ...]   (default: all of them)
#   ENGINE_JOBS  components built at once (default 2: one's downloads and link overlap another's compile)
set -euo pipefail
ENGINE_DIR="$(cd "$(dirname "$0")" && pwd)"
CACHE_ROOT="${KSERVE_INTEL_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kserve-intel/engine}"
ALL=(pulumi provider kubernetes etcd kwok kserve-v0.20 kserve-v0.15 kserve-v0.13 registry)
COMPONENTS=("${@:-${ALL[@]}}")
JOBS="${ENGINE_JOBS:-2}"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" GOTOOLCHAIN=local

log() { printf '[engine] %s\n' "$*" >&2; }

# The folder of a module the component's go.mod pins, downloaded first if the module cache lacks it
# (`go list -m -f '{{.Dir}}'` prints nothing for a module that is not downloaded yet).
module_dir() {
  local dir
  dir="$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "$dir" && -d "$dir" ]] || { log "go mod download $1 left no folder (in $PWD)"; return 1; }
  printf '%s\n' "$dir"
}

# NAME-VERSION-<12 hex of the component folder's own files> (files a build generates are gitignored there).
cache_key() {
  local comp=$1 hash
  hash="$(cd "$ENGINE_DIR/$comp" && find . -type f ! -name '*-embed.json' -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum | sha256sum | cut -c1-12)"
  (unset NAME VERSION; source "$ENGINE_DIR/$comp/component.sh" && echo "$NAME-$VERSION-$hash")
}

# Build one component into $CACHE_ROOT/<key> unless every binary is there; its output goes to $log_file.
build_component() {
  local comp=$1 key=$2
  unset NAME VERSION BINARIES
  # shellcheck source=/dev/null
  source "$ENGINE_DIR/$comp/component.sh"
  local out="$CACHE_ROOT/$key" tmp="$CACHE_ROOT/$key.partial" start b
  start=$(date +%s)
  rm -rf "$tmp" && mkdir -p "$tmp"
  cd "$ENGINE_DIR/$comp"
  OUT="$tmp" build
  for b in $BINARIES; do [[ -x "$tmp/$b" ]] || { echo "build left no $b"; return 1; }; done
  rm -rf "$out" && mv "$tmp" "$out"
  echo "built in $(( $(date +%s) - start )) s"
}

mkdir -p "$CACHE_ROOT"
keys=() todo=() cached=()
for comp in "${COMPONENTS[@]}"; do
  [[ -f "$ENGINE_DIR/$comp/component.sh" ]] || { log "unknown component: $comp (one of: ${ALL[*]})"; exit 2; }
  key="$(cache_key "$comp")"
  keys+=("$key")
  missing=0
  for b in $(unset BINARIES; source "$ENGINE_DIR/$comp/component.sh"; echo "$BINARIES"); do
    [[ -x "$CACHE_ROOT/$key/$b" ]] || missing=1
  done
  if (( missing )); then todo+=("$comp=$key"); else cached+=("$comp"); fi
done
# Quiet when there is nothing to build (the make targets call this before every Pulumi command).
if (( ${#todo[@]} )) || [[ -n "${ENGINE_VERBOSE:-}" ]]; then
  (( ${#cached[@]} == 0 )) || log "cached: ${cached[*]} (in $CACHE_ROOT)"
fi

if (( ${#todo[@]} )); then
  log "building ${#todo[@]} component(s), $JOBS at a time: ${todo[*]%%=*} (a first build from empty caches takes 30-40 min on 2 cores; see docs/real-engine.md)"
  began=$(date +%s)
  declare -A pids=()
  failed=()
  for item in "${todo[@]}"; do
    comp=${item%%=*} key=${item#*=}
    while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || true; done
    log "$comp: building ... (log: $CACHE_ROOT/$key.log)"
    ( if build_component "$comp" "$key" >"$CACHE_ROOT/$key.log" 2>&1; then
        log "$comp: $(tail -n 1 "$CACHE_ROOT/$key.log")"
      else
        log "$comp: FAILED; the last lines of $CACHE_ROOT/$key.log:"; tail -n 20 "$CACHE_ROOT/$key.log" >&2; exit 1
      fi ) &
    pids[$comp]=$!
  done
  for comp in "${!pids[@]}"; do wait "${pids[$comp]}" || failed+=("$comp"); done
  (( ${#failed[@]} == 0 )) || { log "failed: ${failed[*]}"; exit 1; }
  log "toolchain built in $(( $(date +%s) - began )) s"
fi

# One folder of links to every component's binaries: what PATH and the scripts use.
BIN="$CACHE_ROOT/bin-$(printf '%s\n' "${keys[@]}" | sort | sha256sum | cut -c1-12)"
mkdir -p "$BIN"
for key in "${keys[@]}"; do
  for f in "$CACHE_ROOT/$key"/*; do
    [[ -f "$f" && -x "$f" ]] && ln -sfn "$f" "$BIN/$(basename "$f")"
  done
done
echo "$BIN"
