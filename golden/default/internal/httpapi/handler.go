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
)

// Options bound what a request may cost.
type Options struct {
	// MaxBodyBytes is the largest request body accepted; larger bodies get
	// 413 Request Entity Too Large.
	MaxBodyBytes int64
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

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	it, err := a.svc.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	body = append(body, '\n')
	_, _ = w.Write(body)
}

// errorBody is the body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}
