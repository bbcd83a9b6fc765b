# The etcd server (main package at the module root of go.etcd.io/etcd/server/v3).
NAME=etcd
VERSION=v3.6.16
BINARIES="etcd"
build() {
  go build -trimpath -ldflags "-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3
}
