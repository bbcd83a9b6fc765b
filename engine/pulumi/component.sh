# The Pulumi CLI and our Python language host, at the pkg/v3 release pinned in go.mod.
NAME=pulumi
VERSION=v3.274.1
BINARIES="pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python"
build() {
  go build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION" \
    -o "$OUT/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  go build -trimpath -o "$OUT/pulumi-language-python" ./cmd/pulumi-language-python
  # The host runs this script (shipped in the sdk/v3 module, not in the PyPI wheel) to start a program.
  local sdk
  sdk="$(module_dir github.com/pulumi/pulumi/sdk/v3)"
  install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$OUT/pulumi-language-python-exec"
  # Python dynamic providers (components/namespace_guard.py): a plugin the CLI looks for next to itself.
  install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$OUT/pulumi-resource-pulumi-python"
}
