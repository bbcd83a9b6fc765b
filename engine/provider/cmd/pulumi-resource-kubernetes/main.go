// Command pulumi-resource-kubernetes serves the upstream Kubernetes provider package.
//
// Upstream's main package embeds two generated files that its module does not ship; build.sh generates them
// here from the module's schema.json and terraform-mapping.json at build time, with the release version set.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
