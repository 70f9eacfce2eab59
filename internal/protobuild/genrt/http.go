package genrt

import (
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// httpCodes maps each gRPC status code, by number, to its name and the
// HTTP status that stands for it: the table of google.rpc.Code and
// grpc-gateway.
var httpCodes = [...]struct {
	name   string
	status int
}{
	0:  {"OK", http.StatusOK},
	1:  {"CANCELLED", 499}, // the client closed the request
	2:  {"UNKNOWN", http.StatusInternalServerError},
	3:  {"INVALID_ARGUMENT", http.StatusBadRequest},
	4:  {"DEADLINE_EXCEEDED", http.StatusGatewayTimeout},
	5:  {"NOT_FOUND", http.StatusNotFound},
	6:  {"ALREADY_EXISTS", http.StatusConflict},
	7:  {"PERMISSION_DENIED", http.StatusForbidden},
	8:  {"RESOURCE_EXHAUSTED", http.StatusTooManyRequests},
	9:  {"FAILED_PRECONDITION", http.StatusBadRequest},
	10: {"ABORTED", http.StatusConflict},
	11: {"OUT_OF_RANGE", http.StatusBadRequest},
	12: {"UNIMPLEMENTED", http.StatusNotImplemented},
	13: {"INTERNAL", http.StatusInternalServerError},
	14: {"UNAVAILABLE", http.StatusServiceUnavailable},
	15: {"DATA_LOSS", http.StatusInternalServerError},
	16: {"UNAUTHENTICATED", http.StatusUnauthorized},
}

// httpStatus returns the HTTP status and the name of a gRPC status code;
// a code outside the table is UNKNOWN.
func httpStatus(code uint32) (int, string) {
	if int(code) >= len(httpCodes) {
		code = 2
	}
	c := httpCodes[code]
	return c.status, c.name
}

// httpContentType is shared by every response, saving an allocation per
// request; net/http only reads header values.
var httpContentType = []string{"application/json"}

// httpBuffers recycles response buffers.
var httpBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// httpMaxPooled bounds the buffers kept: one huge response must not pin
// its buffer for good.
const httpMaxPooled = 64 << 10

// httpWriteJSON writes status and the JSON that appendBody appends, with
// its length.
func httpWriteJSON(w http.ResponseWriter, status int, appendBody func([]byte) []byte) {
	bp := httpBuffers.Get().(*[]byte)
	b := appendBody((*bp)[:0])
	h := w.Header()
	h["Content-Type"] = httpContentType
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if cap(b) <= httpMaxPooled {
		*bp = b
		httpBuffers.Put(bp)
	}
}

// httpWriteError writes the error body {"error": msg, "code": name} with
// the HTTP status of the gRPC code.
func httpWriteError(w http.ResponseWriter, code uint32, msg string) {
	status, name := httpStatus(code)
	// UNAVAILABLE means "retry": say when, as every 503 of the service does.
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	httpWriteJSON(w, status, func(b []byte) []byte {
		b = append(b, `{"error":`...)
		b = jsonAppendString(b, msg)
		b = append(b, `,"code":`...)
		b = jsonAppendString(b, name)
		return append(b, '}')
	})
}

// httpReadBody reads the request body, at most limit bytes. A larger body
// is answered with 413 and, on HTTP/1, the connection is closed after the
// answer, so the server does not go on reading what it refused; ok is false
// when the request has been answered.
func httpReadBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, ok bool) {
	if r.ContentLength > limit {
		httpRefuseBody(w, r, limit)
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	switch {
	case int64(len(body)) > limit:
		httpRefuseBody(w, r, limit)
		return nil, false
	case err != nil:
		httpWriteError(w, 3, "read request body: "+err.Error())
		return nil, false
	}
	return body, true
}

// httpRefuseBody answers 413 for a body over limit bytes. On HTTP/1 it
// closes the connection right after the answer: left alone, net/http
// would read up to 256 KiB more of the unwanted body first, waiting on a
// client that sends it slowly. On HTTP/2 the server resets just the stream.
func httpRefuseBody(w http.ResponseWriter, r *http.Request, limit int64) {
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
	httpWriteJSON(w, http.StatusRequestEntityTooLarge, func(b []byte) []byte {
		b = append(b, `{"error":"request body larger than `...)
		b = strconv.AppendInt(b, limit, 10)
		return append(b, ` bytes","code":"RESOURCE_EXHAUSTED"}`...)
	})
	if r.ProtoMajor == 1 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
}

// httpParseInt parses a path or query parameter of a signed integer field.
func httpParseInt(name, s string, bits int) (int64, error) {
	v, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, &jsonError{msg: "parameter " + strconv.Quote(name) + ": " + strconv.Quote(s) + " is not a " + strconv.Itoa(bits) + "-bit integer"}
	}
	return v, nil
}

// httpParseInt32 parses a path or query parameter of a 32-bit integer
// field.
func httpParseInt32(name, s string) (int32, error) {
	v, err := httpParseInt(name, s, 32)
	return int32(v), err // #nosec G115 -- ParseInt checked the range
}

// httpParseUint32 parses a path or query parameter of a 32-bit unsigned
// integer field.
func httpParseUint32(name, s string) (uint32, error) {
	v, err := httpParseUint(name, s, 32)
	return uint32(v), err // #nosec G115 -- ParseUint checked the range
}

// httpParseUint parses a path or query parameter of an unsigned integer
// field.
func httpParseUint(name, s string, bits int) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, &jsonError{msg: "parameter " + strconv.Quote(name) + ": " + strconv.Quote(s) + " is not an unsigned " + strconv.Itoa(bits) + "-bit integer"}
	}
	return v, nil
}

// httpParseFloat parses a path or query parameter of a float field.
func httpParseFloat(name, s string, bits int) (float64, error) {
	d := jsonDecoder{data: []byte(strconv.Quote(s))}
	v, err := d.float(bits)
	if err != nil {
		return 0, &jsonError{msg: "parameter " + strconv.Quote(name) + ": " + strconv.Quote(s) + " is not a " + strconv.Itoa(bits) + "-bit float"}
	}
	return v, nil
}

// httpParseBool parses a path or query parameter of a bool field.
func httpParseBool(name, s string) (bool, error) {
	switch s {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, &jsonError{msg: "parameter " + strconv.Quote(name) + ": " + strconv.Quote(s) + " is not true or false"}
}

// httpParseEnum parses a path or query parameter of an enum field: a value
// name or number.
func httpParseEnum(name, s string, values map[string]int32) (int32, error) {
	if v, ok := values[s]; ok {
		return v, nil
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, &jsonError{msg: "parameter " + strconv.Quote(name) + ": " + strconv.Quote(s) + " is not a value of the enum"}
	}
	return int32(v), nil // #nosec G115 -- ParseInt checked the range
}
