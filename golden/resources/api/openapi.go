// Package api holds the shop service's API definition: the .proto files
// under proto/, the Go packages perfgen generates from them, and
// openapi.yaml, the OpenAPI 3.1 document of their google.api.http bindings,
// which this package embeds so the admin port can serve it.
package api

import (
	_ "embed"
	"net/http"
	"strconv"
)

// OpenAPI is openapi.yaml as it was when the service was built. `go
// generate ./...` (perfgen proto) rewrites the file from the .proto files.
//
//go:embed openapi.yaml
var OpenAPI []byte

// OpenAPIHandler answers every request with OpenAPI as application/yaml.
func OpenAPIHandler() http.Handler {
	length := []string{strconv.Itoa(len(OpenAPI))}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/yaml"}
		h["Content-Length"] = length
		_, _ = w.Write(OpenAPI)
	})
}
