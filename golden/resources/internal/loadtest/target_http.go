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
	"time"
)

// errMalformed marks a success response whose body could not be read.
var errMalformed = errors.New("malformed response")

// httpTarget speaks HTTP/1.1 or h2c to the items API.
type httpTarget struct {
	base    string
	clients []*http.Client
}

// createBody is the body of every create; its name is fixed so every
// create costs the server the same. It is in the .proto's JSON
// mapping, where 64-bit integers are strings.
var createBody = []byte(`{"name":"loadtest","quantity":"1"}`)

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
	defer drain(resp)
	// POST /v1/items is the binding generated from the .proto's CreateItem,
	// which answers 200.
	if resp.StatusCode != http.StatusOK {
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
	defer drain(resp)
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

// drain reads the rest of a response's body and closes it, so the
// connection goes back to the pool instead of being torn down.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}
