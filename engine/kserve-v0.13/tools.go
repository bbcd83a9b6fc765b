//go:build tools

// Package tools pins the KServe manager (go 1.21 predates the go.mod tool directive).
package tools

import _ "github.com/kserve/kserve/cmd/manager"
