package main

import (
	"net/http"
	"testing"

	"example.com/shop/api"
)

func TestAdminPortServesOpenAPI(t *testing.T) {
	_, adminAddr := startRun(t)
	code, body := get(t, "http://"+adminAddr+"/openapi.yaml")
	if code != http.StatusOK || body != string(api.OpenAPI) {
		t.Fatalf("GET /openapi.yaml on the admin port = %d, %d bytes; want 200 and the %d bytes of api/openapi.yaml", code, len(body), len(api.OpenAPI))
	}
}
