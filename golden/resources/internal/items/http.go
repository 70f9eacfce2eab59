package items

import (
	"io"
	"log/slog"
	"net/http"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/httpjson"
)

// HTTPOptions bound what a request may cost and turn on the
// example outbound call.
type HTTPOptions struct {
	// MaxBodyBytes is the largest request body accepted; larger bodies get
	// 413 Request Entity Too Large.
	MaxBodyBytes int64
	// Upstream, when set, turns on the example outbound call GET
	// /v1/upstream/items/{id}, which fetches the item from another instance
	// through this client. Its transport picks the instance (see
	// internal/lb), so requests name only a path.
	Upstream *http.Client
}

// HTTPAPI serves the items resource as JSON over HTTP/1.1 and h2c. The
// routes the .proto binds with google.api.http come from the generated
// RegisterItemsServiceHTTP, over Server, which gRPC calls too; only
// the cached GET by ID, the batch get and the upstream example
// are written here.
type HTTPAPI struct {
	svc  *Service
	log  *slog.Logger
	opts HTTPOptions
}

// NewHTTPAPI returns an HTTPAPI over svc. log records failures that clients
// only see as 500s.
func NewHTTPAPI(svc *Service, log *slog.Logger, opts HTTPOptions) *HTTPAPI {
	return &HTTPAPI{svc: svc, log: log, opts: opts}
}

// Register adds the items routes to mux.
func (a *HTTPAPI) Register(mux *http.ServeMux) {
	shopv1.RegisterItemsServiceHTTP(mux, NewServer(a.svc, a.log), shopv1.ItemsServiceHTTPOptions{
		MaxBodyBytes: a.opts.MaxBodyBytes,
		// GetItem keeps its binding, in the OpenAPI document too, but is
		// served by get: a cache hit writes the stored encoding as is.
		Override: map[string]http.Handler{"GetItem": http.HandlerFunc(a.get)},
	})
	mux.HandleFunc("POST /v1/items:batchGet", a.batchGet)
	if a.opts.Upstream != nil {
		mux.HandleFunc("GET /v1/upstream/items/{id}", a.upstreamGet)
	}
}

// get is the hot path. It writes the item's stored encoding, which a cache
// hit returns without touching the store or the JSON encoder.
func (a *HTTPAPI) get(w http.ResponseWriter, r *http.Request) {
	e, err := a.svc.GetEncoded(r.Context(), r.PathValue("id"))
	if err != nil {
		httpjson.Error(w, r, a.log, err)
		return
	}
	httpjson.WriteEncoded(w, e.JSON)
}

// batchRequest is the body of a batch get.
type batchRequest struct {
	IDs []string `json:"ids"`
}

// batchResponse lists the items found, in the order asked, and the IDs that
// were not.
type batchResponse struct {
	Items   []Item   `json:"items"`
	Missing []string `json:"missing"`
}

// batchGet looks up several items in one request, fanning out to the store
// with a bounded number of workers.
func (a *HTTPAPI) batchGet(w http.ResponseWriter, r *http.Request) {
	var req batchRequest
	if !httpjson.Decode(w, r, a.opts.MaxBodyBytes, &req) {
		return
	}
	found, missing, err := a.svc.BatchGet(r.Context(), req.IDs)
	if err != nil {
		httpjson.Error(w, r, a.log, err)
		return
	}
	if missing == nil {
		missing = []string{}
	}
	httpjson.Write(w, http.StatusOK, batchResponse{Items: found, Missing: missing})
}

// maxUpstreamBody bounds how much of an upstream answer is relayed.
const maxUpstreamBody = 1 << 20

// upstreamGet is the example outbound call: it asks an upstream instance
// for the item and relays the answer. The upstream client balances,
// health-checks and ejects instances, and is instrumented.
func (a *HTTPAPI) upstreamGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !ValidID(id) {
		httpjson.Error(w, r, a.log, ErrNotFound)
		return
	}
	// #nosec G704 -- the host is fixed (the balancer picks the instance) and id is 32 hex digits.
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://upstream/v1/items/"+id, nil)
	if err != nil {
		httpjson.Error(w, r, a.log, err)
		return
	}
	resp, err := a.opts.Upstream.Do(req) // #nosec G704 -- the request built above
	if err != nil {
		// No upstream answered: every one is down, ejected or refused by
		// its breaker, or the call and its retry failed. 503 (with
		// Retry-After) tells the client to come back, as UNAVAILABLE does.
		a.log.WarnContext(r.Context(), "upstream call failed", "err", err)
		httpjson.WriteError(w, http.StatusServiceUnavailable, "upstream unavailable; retry")
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	// io.Copy lets the runtime splice socket to socket where it can.
	_, _ = io.Copy(w, io.LimitReader(resp.Body, maxUpstreamBody))
}
