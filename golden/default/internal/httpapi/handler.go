// Package httpapi serves the items resource as JSON over HTTP/1.1 and h2c.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"example.com/demo/internal/items"
	"example.com/demo/internal/pool"
)

// Options bound what a request may cost.
type Options struct {
	// MaxBodyBytes is the largest request body accepted; larger bodies get
	// 413 Request Entity Too Large.
	MaxBodyBytes int64
	// Upstream, when set, turns on the example outbound call GET
	// /v1/upstream/items/{id}, which fetches the item from another instance
	// through this client. Its transport picks the instance (see
	// internal/lb), so requests name only a path.
	Upstream *http.Client
}

// API serves the items resource.
type API struct {
	svc  *items.Service
	log  *slog.Logger
	opts Options
}

// New returns an API over svc.
func New(svc *items.Service, log *slog.Logger, opts Options) *API {
	return &API{svc: svc, log: log, opts: opts}
}

// Register adds the items routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/items", a.create)
	mux.HandleFunc("GET /v1/items", a.list)
	mux.HandleFunc("GET /v1/items/{id}", a.get)
	mux.HandleFunc("DELETE /v1/items/{id}", a.delete)
	mux.HandleFunc("POST /v1/items:batchGet", a.batchGet)
	if a.opts.Upstream != nil {
		mux.HandleFunc("GET /v1/upstream/items/{id}", a.upstreamGet)
	}
}

func (a *API) create(w http.ResponseWriter, r *http.Request) {
	var n items.NewItem
	if !a.decode(w, r, &n) {
		return
	}
	it, err := a.svc.Create(r.Context(), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/items/"+it.ID)
	writeJSON(w, http.StatusCreated, it)
}

// get is the hot path. It writes the item's stored encoding, which a cache
// hit returns without touching the store or the JSON encoder.
func (a *API) get(w http.ResponseWriter, r *http.Request) {
	e, err := a.svc.GetEncoded(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// No Content-Length: net/http adds it for a body this small, which it
	// buffers whole, and setting it here would cost two allocations.
	w.Header()["Content-Type"] = jsonContentType
	_, _ = w.Write(e.JSON)
}

// jsonContentType is shared by every response, saving an allocation per
// request. net/http only reads header values, and Header.Set replaces the
// slice rather than writing into it.
var jsonContentType = []string{"application/json"}

// batchRequest is the body of a batch get.
type batchRequest struct {
	IDs []string `json:"ids"`
}

// batchResponse lists the items found, in the order asked, and the IDs that
// were not.
type batchResponse struct {
	Items   []items.Item `json:"items"`
	Missing []string     `json:"missing"`
}

// batchGet looks up several items in one request, fanning out to the store
// with a bounded number of workers.
func (a *API) batchGet(w http.ResponseWriter, r *http.Request) {
	var req batchRequest
	if !a.decode(w, r, &req) {
		return
	}
	found, missing, err := a.svc.BatchGet(r.Context(), req.IDs)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if missing == nil {
		missing = []string{}
	}
	writeJSON(w, http.StatusOK, batchResponse{Items: found, Missing: missing})
}

// maxUpstreamBody bounds how much of an upstream answer is relayed.
const maxUpstreamBody = 1 << 20

// upstreamGet is the example outbound call: it asks an upstream instance
// for the item and relays the answer. The upstream client balances,
// health-checks and ejects instances, and is instrumented.
func (a *API) upstreamGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !items.ValidID(id) {
		a.fail(w, r, items.ErrNotFound)
		return
	}
	// #nosec G704 -- the host is fixed (the balancer picks the instance) and id is 32 hex digits.
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://upstream/v1/items/"+id, nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	resp, err := a.opts.Upstream.Do(req) // #nosec G704 -- the request built above
	if err != nil {
		a.log.WarnContext(r.Context(), "upstream call failed", "err", err)
		writeError(w, http.StatusBadGateway, "upstream unavailable")
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	// io.Copy lets the runtime splice socket to socket where it can.
	_, _ = io.Copy(w, io.LimitReader(resp.Body, maxUpstreamBody))
}

// page is the body of a list response. Next is the cursor for the following
// page, empty on the last one.
type page struct {
	Items []items.Item `json:"items"`
	Next  string       `json:"next,omitempty"`
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	limit := items.MaxPageSize
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "limit must be a positive integer")
			return
		}
		limit = n
	}
	list, err := a.svc.List(r.Context(), r.URL.Query().Get("after"), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p := page{Items: list}
	if len(list) == min(limit, items.MaxPageSize) && len(list) > 0 {
		p.Next = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Delete(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decode reads one JSON object into v. It refuses a declared length over the
// limit before reading, stops reading a body once it passes the limit, and
// rejects unknown fields and trailing data. It answers the request itself
// and returns false when the body is unusable.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength > a.opts.MaxBodyBytes {
		refuseBody(w, r, a.opts.MaxBodyBytes)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, a.opts.MaxBodyBytes))
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
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
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
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit))
	if r.ProtoMajor == 1 {
		// The answer is buffered; an expired read deadline only ends the
		// server's draining of the body.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
}

// fail answers err with the status it maps to. Unexpected errors are logged
// and answered without detail.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, items.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, items.ErrNotFound):
		writeError(w, http.StatusNotFound, "item not found")
	case errors.Is(err, items.ErrUnavailable):
		// Checked before the deadline: a deadline spent waiting for the
		// store is the store's outage, not a slow handler. Not logged per
		// request: an outage would flood the log; the status metrics and
		// the store's rate-limited warnings show it.
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "service temporarily unavailable; retry")
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "request timed out")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this answer.
		w.WriteHeader(499)
	default:
		a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// writeJSON encodes v into a pooled buffer and writes it with its length.
// The buffer goes back to the pool once written: the ResponseWriter has
// copied the bytes by then.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := pool.GetBuffer()
	defer pool.PutBuffer(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		buf.Reset()
		buf.WriteString(`{"error":"internal error"}` + "\n")
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorBody is the body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}
