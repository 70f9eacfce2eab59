package httpjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/shop/internal/resource"
)

var errThingNotFound = resource.NotFound("thing not found")

func TestErrorMapsEveryKind(t *testing.T) {
	for _, tt := range []struct {
		err        error
		status     int
		body, code string
	}{
		{fmt.Errorf("%w: name is required", resource.Invalid("invalid thing")), http.StatusBadRequest, "invalid thing: name is required", "INVALID_ARGUMENT"},
		{errThingNotFound, http.StatusNotFound, "thing not found", "NOT_FOUND"},
		{fmt.Errorf("get: %w", resource.Unavailable("store unavailable")), http.StatusServiceUnavailable, "service temporarily unavailable; retry", "UNAVAILABLE"},
		{context.DeadlineExceeded, http.StatusGatewayTimeout, "request timed out", "DEADLINE_EXCEEDED"},
		{errors.New("disk on fire"), http.StatusInternalServerError, "internal error", "INTERNAL"},
	} {
		rec := httptest.NewRecorder()
		Error(rec, httptest.NewRequest(http.MethodGet, "/", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), tt.err)
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tt.status || body.Error != tt.body || body.Code != tt.code {
			t.Errorf("Error(%v) = %d %s; want %d {\"error\":%q,\"code\":%q}", tt.err, rec.Code, rec.Body, tt.status, tt.body, tt.code)
		}
	}
	rec := httptest.NewRecorder()
	Error(rec, httptest.NewRequest(http.MethodGet, "/", nil), slog.Default(), resource.ErrUnavailable)
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

func TestDecode(t *testing.T) {
	type thing struct {
		Name string `json:"name"`
	}
	for _, tt := range []struct {
		body   string
		ok     bool
		status int
	}{
		{`{"name":"a"}`, true, 0},
		{`{"name":"a","extra":1}`, false, http.StatusBadRequest},
		{`{"name":"a"}{}`, false, http.StatusBadRequest},
		{`{"name":`, false, http.StatusBadRequest},
		{`{"name":"` + strings.Repeat("a", 100) + `"}`, false, http.StatusRequestEntityTooLarge},
	} {
		rec := httptest.NewRecorder()
		var v thing
		ok := Decode(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body)), 64, &v)
		if ok != tt.ok || (!ok && rec.Code != tt.status) {
			t.Errorf("Decode(%.20s) = %t, status %d; want %t, %d", tt.body, ok, rec.Code, tt.ok, tt.status)
		}
	}
}

func TestWriteEncodedWritesTheBytesAsTheyAre(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteEncoded(rec, []byte("{\"id\":\"a\"}\n"))
	if rec.Code != http.StatusOK || rec.Body.String() != "{\"id\":\"a\"}\n" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("WriteEncoded = %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}

func TestBuffers(t *testing.T) {
	b := getBuffer()
	b.WriteString("hello")
	putBuffer(b)
	if b2 := getBuffer(); b2.Len() != 0 {
		t.Fatalf("getBuffer returned a buffer holding %q", b2.String())
	}
	big := bytes.NewBuffer(make([]byte, 0, 2*maxPooledBuffer))
	putBuffer(big) // dropped, not pooled: nothing to observe but no panic
}

// BenchmarkWrite encodes a small JSON response into a pooled buffer, as
// every non-cached answer is written.
func BenchmarkWrite(b *testing.B) {
	v := struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Quantity int    `json:"quantity"`
	}{"01J5Z0000000000000000000000", "widget", 3}
	w := discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		Write(w, http.StatusOK, v)
	}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}
