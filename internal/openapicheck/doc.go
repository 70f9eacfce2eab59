// Package openapicheck validates the OpenAPI documents perfgen proto
// generates with a maintained OpenAPI 3.1 validator
// (github.com/pb33f/libopenapi and libopenapi-validator). It is its own
// module, as internal/deploycheck is, so the validator's dependencies stay
// out of perfgen's go.mod; it has tests only.
package openapicheck
