# The KServe controller manager of v0.15.2 (run out of cluster by engine/localcluster.py).
NAME=kserve
VERSION=v0.15.2
BINARIES="kserve-manager-$VERSION"
build() {
  go build -trimpath -ldflags "-s -w" -o "$OUT/kserve-manager-$VERSION" github.com/kserve/kserve/cmd/manager
}
