# kwok: fake nodes and pods without a kubelet (the standalone controller).
NAME=kwok
VERSION=v0.8.0
BINARIES="kwok"
build() {
  go build -trimpath -ldflags "-s -w" -o "$OUT/kwok" sigs.k8s.io/kwok/cmd/kwok
}
