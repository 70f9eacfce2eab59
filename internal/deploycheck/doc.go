// Package deploycheck tests perfgen's deployment outputs with the parsers and
// types their consumers use: BuildKit's Dockerfile parser, the official
// Kubernetes API types and Pod Security admission, kustomize, the Compose
// specification loader, shellcheck, bash and systemd-analyze.
//
// It is its own module so that perfgen's go.mod does not carry these heavy
// dependencies. Run its tests from this directory with go test ./...; they
// render projects in memory through generator.Render.
package deploycheck
