package items

import (
	"log/slog"
	"net/http"

	minimalv1 "example.com/minimal/api/proto/minimal/v1"
	"example.com/minimal/internal/httpjson"
)

// HTTPOptions bound what a request may cost.
type HTTPOptions struct {
	// MaxBodyBytes is the largest request body accepted; larger bodies get
	// 413 Request Entity Too Large.
	MaxBodyBytes int64
}

// HTTPAPI serves the items resource as JSON over HTTP/1.1 and h2c. The
// routes the .proto binds with google.api.http come from the generated
// RegisterItemsServiceHTTP, over Server; only
// the cached GET by ID, the batch get
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
	minimalv1.RegisterItemsServiceHTTP(mux, NewServer(a.svc, a.log), minimalv1.ItemsServiceHTTPOptions{
		MaxBodyBytes: a.opts.MaxBodyBytes,
		// GetItem keeps its binding, in the OpenAPI document too, but is
		// served by get: a cache hit writes the stored encoding as is.
		Override: map[string]http.Handler{"GetItem": http.HandlerFunc(a.get)},
	})
	mux.HandleFunc("POST /v1/items:batchGet", a.batchGet)
}

// get is the hot path. It writes the item's stored encoding.
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
