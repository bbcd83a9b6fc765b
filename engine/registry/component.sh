# The CNCF distribution registry (registry:3 image's binary), run on 127.0.0.1 with token auth by the e2e
# tests that push their own small images and resolve tags to digests (issue 23).
NAME=registry
VERSION=v3.1.2
BINARIES="registry"
build() {
  local pkg=github.com/distribution/distribution/v3
  # Upstream's Makefile sets the version this way; no build tags are needed for the filesystem and
  # inmemory storage drivers or the token auth controller (all imported by cmd/registry/main.go).
  go build -trimpath -ldflags "-s -w -X $pkg/version.version=$VERSION -X $pkg/version.mainpkg=$pkg" \
    -o "$OUT/registry" $pkg/cmd/registry
}
