# pulumi-resource-kubernetes at the version of the pulumi-kubernetes Python SDK pinned in requirements.txt.
NAME=pulumi-resource-kubernetes
VERSION=v4.25.0
BINARIES="pulumi-resource-kubernetes"
build() {
  local mod dir=cmd/pulumi-resource-kubernetes
  mod="$(module_dir github.com/pulumi/pulumi-kubernetes/provider/v4)"
  # What upstream's `go generate` does: the schema with the release version set, both files compacted.
  python3 - "$mod/cmd/pulumi-resource-kubernetes" "$dir" "${VERSION#v}" <<'PY'
import json, pathlib, sys
src, dst, version = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
schema = json.loads((src / "schema.json").read_text())
schema["version"] = version
(dst / "schema-embed.json").write_text(json.dumps(schema, separators=(",", ":")))
mapping = json.loads((src / "terraform-mapping.json").read_text())
(dst / "terraform-mapping-embed.json").write_text(json.dumps(mapping, separators=(",", ":")))
PY
  go build -trimpath \
    -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$VERSION" \
    -o "$OUT/pulumi-resource-kubernetes" "./$dir"
}
