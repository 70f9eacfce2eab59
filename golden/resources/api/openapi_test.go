package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestOpenAPIHandlerServesTheDocumentOnDisk(t *testing.T) {
	onDisk, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	OpenAPIHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /openapi.yaml = %d %q, want 200 application/yaml", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !bytes.Equal(rec.Body.Bytes(), onDisk) {
		t.Fatal("the served document is not openapi.yaml; rebuild after go generate")
	}
	if !bytes.Contains(onDisk, []byte("\nopenapi: \"3.1")) {
		t.Fatalf("openapi.yaml is not an OpenAPI 3.1 document:\n%.200s", onDisk)
	}
}
