package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
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

// errMalformed marks a success response whose body could not be read.
var errMalformed = errors.New("malformed response")

// httpTarget speaks HTTP/1.1 or h2c to the items API.
type httpTarget struct {
	base    string
	clients []*http.Client
}

// createBody is the body of every create; its name is fixed so every
// create costs the server the same.
var createBody = []byte(`{"name":"loadtest","quantity":1}`)

func newHTTPTarget(t Transport, addr string, conns int) *httpTarget {
	newTransport := func() *http.Transport {
		return &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}
	}
	tgt := &httpTarget{base: "http://" + addr}
	switch t {
	case H2C:
		// One transport per connection: an HTTP/2 transport multiplexes
		// every request over a single connection per host, so separate
		// transports are how the connection count is honored.
		for range conns {
			tr := newTransport()
			tr.Protocols = new(http.Protocols)
			tr.Protocols.SetUnencryptedHTTP2(true)
			tgt.clients = append(tgt.clients, &http.Client{Transport: tr})
		}
	default:
		// HTTP/1.1 carries one request per connection at a time: cap the
		// pool at conns so extra workers queue for a connection (and that
		// wait counts in their latency) instead of dialing more.
		tr := newTransport()
		tr.MaxConnsPerHost = conns
		tgt.clients = append(tgt.clients, &http.Client{Transport: tr})
	}
	return tgt
}

func (t *httpTarget) client(lane int) *http.Client { return t.clients[lane%len(t.clients)] }

func (t *httpTarget) Create(ctx context.Context, lane int) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/v1/items", bytes.NewReader(createBody))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client(lane).Do(req)
	if err != nil {
		return "", err
	}
	defer drain(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", &StatusError{Kind: fmt.Sprintf("http %d", resp.StatusCode)}
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		return "", fmt.Errorf("%w: decode created item: %w", errMalformed, err)
	}
	return created.ID, nil
}

func (t *httpTarget) Get(ctx context.Context, lane int, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+"/v1/items/"+id, nil)
	if err != nil {
		return err
	}
	resp, err := t.client(lane).Do(req)
	if err != nil {
		return err
	}
	defer drain(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return &StatusError{Kind: fmt.Sprintf("http %d", resp.StatusCode)}
	}
	return nil
}

func (t *httpTarget) Close() error {
	for _, c := range t.clients {
		c.CloseIdleConnections()
	}
	return nil
}

// drain reads the rest of a body and closes it, so the connection goes back
// to the pool instead of being torn down.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, body)
	_ = body.Close()
}

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
