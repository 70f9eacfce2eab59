// Package httpjson reads and writes the JSON every resource's HTTP handlers
// exchange: bounded request decoding, pooled response encoding, responses
// written from cached encoded bytes, and one mapping from the resource
// error values to statuses and {"error": "..."} bodies.
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
	"strconv"
	"sync"
	"time"

	"example.com/shop/internal/resource"
)

// contentType is shared by every response, saving an allocation per
// request. net/http only reads header values, and Header.Set replaces the
// slice rather than writing into it.
var contentType = []string{"application/json"}

// WriteEncoded writes JSON encoded beforehand, such as a cached
// resource.Encoded, with status 200: the read path that costs no encoding.
func WriteEncoded(w http.ResponseWriter, body []byte) {
	// No Content-Length: net/http adds it for a body this small, which it
	// buffers whole, and setting it here would cost two allocations.
	w.Header()["Content-Type"] = contentType
	_, _ = w.Write(body)
}

// Write encodes v into a pooled buffer and writes it with its length and
// status. The buffer goes back to the pool once written: the
// ResponseWriter has copied the bytes by then.
func Write(w http.ResponseWriter, status int, v any) {
	buf := getBuffer()
	defer putBuffer(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		buf.Reset()
		buf.WriteString(`{"error":"internal error","code":"INTERNAL"}` + "\n")
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h["Content-Type"] = contentType
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorBody is the body of every error response: the message and the
// name of the gRPC code of the status, the shape the HTTP bindings
// generated from the .proto answer with too.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// codes names the gRPC code of each status this package answers with.
var codes = map[int]string{
	http.StatusBadRequest:            "INVALID_ARGUMENT",
	http.StatusNotFound:              "NOT_FOUND",
	http.StatusRequestEntityTooLarge: "RESOURCE_EXHAUSTED",
	http.StatusTooManyRequests:       "RESOURCE_EXHAUSTED",
	http.StatusInternalServerError:   "INTERNAL",
	http.StatusBadGateway:            "UNAVAILABLE",
	http.StatusServiceUnavailable:    "UNAVAILABLE",
	http.StatusGatewayTimeout:        "DEADLINE_EXCEEDED",
}

// WriteError answers status with {"error": msg, "code": name}, name being
// the gRPC code of status ("UNKNOWN" for one without). A 503 carries
// Retry-After, 1 second unless the caller set it.
func WriteError(w http.ResponseWriter, status int, msg string) {
	code, ok := codes[status]
	if !ok {
		code = "UNKNOWN"
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	Write(w, status, errorBody{Error: msg, Code: code})
}

// Error answers err with the status its kind maps to, as resource.Status
// does for gRPC. Unexpected errors are logged and answered without detail.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	switch {
	case errors.Is(err, resource.ErrInvalid):
		WriteError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, resource.ErrNotFound):
		WriteError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, resource.ErrUnavailable):
		// Checked before the deadline: a deadline spent waiting for the
		// store is the store's outage, not a slow handler. Not logged per
		// request: an outage would flood the log; the status metrics and
		// the store's rate-limited warnings show it.
		WriteError(w, http.StatusServiceUnavailable, "service temporarily unavailable; retry")
	case errors.Is(err, context.DeadlineExceeded):
		WriteError(w, http.StatusGatewayTimeout, "request timed out")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		w.WriteHeader(499)
	default:
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		WriteError(w, http.StatusInternalServerError, "internal error")
	}
}

// Decode reads one JSON object into v. It refuses a declared length over
// maxBytes before reading, stops reading a body once it passes maxBytes, and
// rejects unknown fields and trailing data. It answers the request itself
// and returns false when the body is unusable.
func Decode(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) bool {
	if r.ContentLength > maxBytes {
		refuseBody(w, r, maxBytes)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("body holds more than one JSON value")
	}
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooLarge):
		refuseBody(w, r, tooLarge.Limit)
	default:
		WriteError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
	}
	return false
}

// refuseBody answers 413 and, on HTTP/1, closes the connection right after
// the answer. Left alone, net/http would read up to 256 KiB more of the
// unwanted body before closing, waiting on a client that sends it slowly;
// MaxBytesReader cannot stop that itself because the ResponseWriter it sees
// is wrapped by middleware. On HTTP/2 the server resets just this stream.
func refuseBody(w http.ResponseWriter, r *http.Request, limit int64) {
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
	WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit))
	if r.ProtoMajor == 1 {
		// The answer is buffered; an expired read deadline only ends the
		// server's draining of the body.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
}

// maxPooledBuffer is the largest buffer kept for reuse. Pooling a buffer
// that once held a huge response would pin that memory for every later
// small one.
const maxPooledBuffer = 64 << 10

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// getBuffer returns an empty buffer. Return it with putBuffer once nothing
// refers to its bytes any more.
func getBuffer() *bytes.Buffer {
	return buffers.Get().(*bytes.Buffer)
}

// putBuffer resets b and keeps it for reuse, unless it has grown too large.
func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	buffers.Put(b)
}
