package main

import (
	"net/http"
	"testing"

	apiproto "example.com/shop/api/proto"
)

func TestAdminPortServesOpenAPI(t *testing.T) {
	_, adminAddr := startRun(t)
	code, body := get(t, "http://"+adminAddr+"/openapi.yaml")
	if code != http.StatusOK || body != string(apiproto.OpenAPI) {
		t.Fatalf("GET /openapi.yaml on the admin port = %d, %d bytes; want 200 and the %d bytes of %s/openapi.yaml", code, len(body), len(apiproto.OpenAPI), "api/proto")
	}
}
