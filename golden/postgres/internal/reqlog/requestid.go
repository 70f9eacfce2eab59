package reqlog

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
)

// Header carries a request's id, in HTTP requests and responses.
const Header = "X-Request-Id"

// MaxIDLen bounds an accepted request id; longer ones are replaced.
const MaxIDLen = 128

// IDs says where requests' ids come from.
type IDs int

const (
	// IDsOff ignores incoming ids.
	IDsOff IDs = iota
	// IDsAccept carries a request's valid id (set by a proxy such as Envoy
	// or nginx, or by the client) into its log lines and echoes it. A
	// request without one costs nothing.
	IDsAccept
	// IDsGenerate is IDsAccept, and gives a request without an id a new
	// one, returned in the response.
	IDsGenerate
)

// ParseIDs parses "off", "accept" or "generate".
func ParseIDs(s string) (IDs, error) {
	switch s {
	case "off":
		return IDsOff, nil
	case "accept":
		return IDsAccept, nil
	case "generate":
		return IDsGenerate, nil
	}
	return IDsOff, fmt.Errorf("request ids %q: use off, accept or generate", s)
}

// requestIDKey is the context key of a request's id.
type requestIDKey struct{}

// idContext carries a request's id. It is context.WithValue for one key,
// laid out so that the context and the response header's value are one
// allocation, not three (WithValue's context, the id boxed in an interface
// and the header's []string).
type idContext struct {
	context.Context
	// header is the response header's (or metadata's) value; header[0] is
	// the id.
	header [1]string
}

func (c *idContext) Value(key any) any {
	if key == (requestIDKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// RequestID returns the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	if c, ok := ctx.Value(requestIDKey{}).(*idContext); ok {
		return c.header[0]
	}
	return ""
}

// WithRequestID returns ctx carrying id, and the value of the response
// header (or metadata) that returns it.
func WithRequestID(ctx context.Context, id string) (context.Context, []string) {
	c := &idContext{Context: ctx, header: [1]string{id}}
	return c, c.header[:]
}

// ValidID reports whether id is acceptable as a request id: 1 to MaxIDLen
// characters of letters, digits and -_.:+/= (UUIDs, hex, base64 and the
// ids of common proxies). Anything else could forge log fields or
// grow every log line.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return true
}

// NewID returns a random 16-hex-digit request id. math/rand/v2's generator
// is per-thread and lock-free; ids need to be unique, not secret.
func NewID() string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64()) // #nosec G404 -- an id to correlate log lines, not a secret
	return hex.EncodeToString(b[:])
}
