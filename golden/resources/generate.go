// Package shop is the root of the shop module. It holds no
// code: the service is cmd/shop, its packages are under internal/.
//
// Running `go generate` here re-renders the project from .perfgen.yaml with
// `go tool perfgen sync`: edit the answers (say, to add a transport or a
// deployment output), then run it. Files you never edited are updated, new
// files are added, and files you edited are merged three ways; see
// `perfgen sync --help`.
//
// `go tool perfgen` runs the perfgen version go.mod pins with its tool
// directive, so everyone who runs the hooks generates the same code.
package shop

//go:generate go tool perfgen sync
