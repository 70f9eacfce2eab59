// Package templates embeds perfgen's built-in templates: the service itself,
// its deployment outputs and its benchmark harness.
package templates

import "embed"

// FS holds the built-in templates. "all:" keeps dotfiles such as
// .dockerignore.
//
//go:embed all:service all:deploy all:bench
var FS embed.FS
