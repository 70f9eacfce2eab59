package items

import (
	"log/slog"
	"net/http"

	"example.com/minimal/internal/httpjson"
	"example.com/minimal/internal/resource"
)

// HTTPOptions bound what a request may cost.
type HTTPOptions struct {
	// MaxBodyBytes is the largest request body accepted; larger bodies get
	// 413 Request Entity Too Large.
	MaxBodyBytes int64
}

// HTTPAPI serves the items resource as JSON over HTTP/1.1 and h2c.
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
	mux.HandleFunc("POST /v1/items", a.create)
	mux.HandleFunc("GET /v1/items", a.list)
	mux.HandleFunc("GET /v1/items/{id}", a.get)
	mux.HandleFunc("DELETE /v1/items/{id}", a.delete)
	mux.HandleFunc("POST /v1/items:batchGet", a.batchGet)
}

func (a *HTTPAPI) create(w http.ResponseWriter, r *http.Request) {
	var n NewItem
	if !httpjson.Decode(w, r, a.opts.MaxBodyBytes, &n) {
		return
	}
	it, err := a.svc.Create(r.Context(), n)
	if err != nil {
		httpjson.Error(w, r, a.log, err)
		return
	}
	w.Header().Set("Location", "/v1/items/"+it.ID)
	httpjson.Write(w, http.StatusCreated, it)
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

// page is the body of a list response. Next is the opaque cursor of the
// following page, to pass back as ?after=; absent on the last page.
type page struct {
	Items []Item `json:"items"`
	Next  string `json:"next,omitempty"`
}

func (a *HTTPAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := resource.ParseLimit(q.Get("limit"), MaxPageSize)
	if err != nil {
		httpjson.Error(w, r, a.log, err)
		return
	}
	after, err := decodeCursor(q.Get("after"))
	if err != nil {
		httpjson.Error(w, r, a.log, err)
		return
	}
	list, err := a.svc.List(r.Context(), after, limit)
	if err != nil {
		httpjson.Error(w, r, a.log, err)
		return
	}
	httpjson.Write(w, http.StatusOK, page{Items: list, Next: nextCursor(list, limit)})
}

func (a *HTTPAPI) delete(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Delete(r.Context(), r.PathValue("id")); err != nil {
		httpjson.Error(w, r, a.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
