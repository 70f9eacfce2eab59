package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Target sends requests to the service over one transport. Implementations
// are safe for concurrent use. lane is the sending worker's index; targets
// that hold several connections use it to spread workers over them.
type Target interface {
	// Create creates an item and returns its ID.
	Create(ctx context.Context, lane int) (string, error)
	// Get reads the item with id.
	Get(ctx context.Context, lane int, id string) error
	// Close releases the target's connections.
	Close() error
}

// Transport names the protocol a target speaks.
type Transport string

// The transports the load generator speaks.
const (
	// HTTP1 is HTTP/1.1 over keep-alive connections.
	HTTP1 Transport = "http1"
	// H2C is cleartext HTTP/2 with prior knowledge (no upgrade round trip).
	H2C Transport = "h2c"
	// GRPC is the gRPC API, through its generated client.
	GRPC Transport = "grpc"
)

// Transports lists the transports NewTarget accepts.
var Transports = []Transport{HTTP1, H2C, GRPC}

// DefaultTransport is the transport loadgen drives unless told otherwise:
// h2c multiplexes requests over a few connections, as HTTP/2 clients and
// proxies in front of the service do.
const DefaultTransport = H2C

// NewTarget returns a target that sends to addr (host:port) over t with the
// given number of connections.
func NewTarget(t Transport, addr string, conns int) (Target, error) {
	if conns < 1 {
		return nil, fmt.Errorf("connections is %d; want at least 1", conns)
	}
	switch t {
	case HTTP1, H2C:
		return newHTTPTarget(t, addr, conns), nil
	case GRPC:
		return newGRPCTarget(addr, conns)
	default:
		return nil, fmt.Errorf("transport %q is unknown; use one of %v", t, Transports)
	}
}

// StatusError is a response that arrived but was not the expected success.
// Kind names it in reports, e.g. "http 503".
type StatusError struct {
	Kind string
}

func (e *StatusError) Error() string { return e.Kind }

// Error kinds that do not come from a response.
const (
	KindCutOff  = "unfinished at end of run"
	KindTimeout = "timeout"
)

// classify names the kind of a failed request for the error report.
// cutOff reports whether the run's own deadline had passed.
func classify(err error, cutOff bool) string {
	var status *StatusError
	switch {
	case errors.As(err, &status):
		return status.Kind
	case cutOff:
		return KindCutOff
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed early"
	case errors.Is(err, errMalformed):
		return errMalformed.Error()
	default:
		return "other"
	}
}
