# kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from one k8s.io/kubernetes release
# (the 1.34 line KServe v0.20 builds against; staging modules replaced by their published v0.34 versions).
NAME=kubernetes
VERSION=v1.34.4
BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubectl"
build() {
  local pkg=k8s.io/component-base/version minor=${VERSION#v1.}; minor=${minor%%.*}
  # One go build for the four commands, so their shared packages compile once.
  go build -trimpath \
    -ldflags "-s -w -X $pkg.gitVersion=$VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z" \
    -o "$OUT/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
}
