package openapicheck

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/protobuild"
	"github.com/perfgen/perfgen/templates"
)

// documents returns the OpenAPI documents to check: the one perfgen proto
// writes for its HTTP test API, with a binding of every supported kind, and
// those of a default generated project and of an HTTP-only one.
func documents(t *testing.T) map[string][]byte {
	t.Helper()
	docs := map[string][]byte{}

	root := "../protobuild/testdata/http/api"
	sources := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".proto" {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		src, err := os.ReadFile(p)
		sources[filepath.ToSlash(rel)] = src
		return err
	}))
	files, err := protobuild.Generate(sources)
	require.NoError(t, err)
	for _, f := range files {
		if f.Path == protobuild.OpenAPIFile {
			docs["protobuild testdata"] = f.Content
		}
	}

	httpOnly := generator.DefaultSpec("demo")
	httpOnly.Transport = generator.TransportHTTP
	for name, spec := range map[string]generator.Spec{"default project": generator.DefaultSpec("demo"), "HTTP-only project": httpOnly} {
		project, err := generator.Render(templates.FS, spec)
		require.NoError(t, err)
		if f, ok := project.Lookup(generator.OpenAPIPath); ok {
			docs[name+" "+f.Path] = f.Content
		}
	}
	require.Len(t, docs, 3, "a document is missing")
	return docs
}

func TestDocumentsAreValidOpenAPI31(t *testing.T) {
	for name, doc := range documents(t) {
		t.Run(name, func(t *testing.T) {
			parsed, err := libopenapi.NewDocument(doc)
			require.NoError(t, err)
			assert.Equal(t, "3.1.0", parsed.GetVersion())
			_, err = parsed.BuildV3Model()
			require.NoError(t, err, "the model does not build; are all $refs resolved?")
			v, errs := validator.NewValidator(parsed)
			require.Empty(t, errs)
			ok, problems := v.ValidateDocument()
			for _, p := range problems {
				t.Errorf("%s: %s", p.Message, p.Reason)
				for _, se := range p.SchemaValidationErrors {
					t.Errorf("  %s at %s (line %d)", se.Reason, se.FieldPath, se.Line)
				}
			}
			assert.True(t, ok)
		})
	}
}

// TestRequestsMatchTheSchemas checks the document describes what the
// generated handlers accept: the proto3 JSON mapping, and nothing else.
func TestRequestsMatchTheSchemas(t *testing.T) {
	doc := documents(t)["protobuild testdata"]
	parsed, err := libopenapi.NewDocument(doc)
	require.NoError(t, err)
	v, errs := validator.NewValidator(parsed)
	require.Empty(t, errs)
	tests := []struct {
		method, target, body string
		valid                bool
	}{
		{"POST", "/v1/items", `{"name":"widget","quantity":"3"}`, true},
		{"POST", "/v1/items", `{"name":"widget","colour":"red"}`, false},
		{"POST", "/v1/items", `{"name":"widget","quantity":3.5}`, false},
		{"GET", "/v1/items?pageSize=10&pageToken=x", "", true},
		{"GET", "/v1/items/abc", "", true},
		{"POST", "/v1/products", `{"id":"x","createTime":"2026-01-02T03:04:05Z","kind":"KIND_BOOK","stock":{"a":"1"},"blob":"aGk="}`, true},
		{"POST", "/v1/products", `{"kind":"KIND_CAR"}`, false},
		{"GET", "/v1/shelves/7/products/x?fields=a&fields=b", "", true},
		{"POST", "/v1/products/x/stock:add", `{"count":"5"}`, true},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, "http://localhost"+tt.target, strings.NewReader(tt.body))
		require.NoError(t, err)
		if tt.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		ok, problems := v.ValidateHttpRequest(req)
		var reasons []string
		for _, p := range problems {
			reasons = append(reasons, p.Message+": "+p.Reason)
		}
		assert.Equal(t, tt.valid, ok, "%s %s %s: %v", tt.method, tt.target, tt.body, reasons)
	}
}

// TestValidatorRejectsABrokenDocument shows the check can fail: the
// generated document with its required info object removed.
func TestValidatorRejectsABrokenDocument(t *testing.T) {
	doc := string(documents(t)["protobuild testdata"])
	start := strings.Index(doc, "\ninfo:\n")
	end := strings.Index(doc, "\npaths:\n")
	require.True(t, start > 0 && end > start)
	parsed, err := libopenapi.NewDocument([]byte(doc[:start] + doc[end:]))
	require.NoError(t, err)
	v, errs := validator.NewValidator(parsed)
	require.Empty(t, errs)
	ok, _ := v.ValidateDocument()
	assert.False(t, ok, "a document without info passed")
}
