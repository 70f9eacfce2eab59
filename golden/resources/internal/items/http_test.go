package items_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/shop/internal/items"
	"example.com/shop/internal/store/memory"
)

const maxBody = 1 << 10

func newHandler(t *testing.T) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	items.NewHTTPAPI(items.NewService(memory.New()), log, items.HTTPOptions{MaxBodyBytes: maxBody}).Register(mux)
	return mux
}

func do(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("response %q is not JSON: %v", rec.Body.String(), err)
	}
	return v
}

func TestItemLifecycle(t *testing.T) {
	h := newHandler(t)

	// The routes the .proto binds answer in its JSON mapping: lowerCamelCase
	// names and 64-bit integers as strings.
	rec := do(t, h, http.MethodPost, "/v1/items", `{"name":"widget","quantity":"3"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("create: status %d, body %s", rec.Code, rec.Body)
	}
	created := decode[items.Item](t, rec)
	if created.Name != "widget" || created.Quantity != 3 || !items.ValidID(created.ID) {
		t.Fatalf("create returned %+v", created)
	}
	createdJSON := rec.Body.String()
	if !strings.Contains(createdJSON, `"quantity":"3","createTime":"`) {
		t.Fatalf("create answered %s, want quantity as a string and createTime", createdJSON)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}

	rec = do(t, h, http.MethodGet, "/v1/items/"+created.ID, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("get: status %d, body %s", rec.Code, rec.Body)
	}
	if got := decode[items.Item](t, rec); !got.CreatedAt.Equal(created.CreatedAt) || got.ID != created.ID {
		t.Fatalf("get returned %+v, want %+v", got, created)
	}
	// GET by ID is the hand-written override of the GetItem binding; it
	// writes the same JSON as the generated routes.
	if got := strings.TrimSuffix(rec.Body.String(), "\n"); got != createdJSON {
		t.Fatalf("get answered %s, create %s: the two routes disagree", got, createdJSON)
	}

	rec = do(t, h, http.MethodGet, "/v1/items", "")
	list := decode[struct {
		Items []items.Item `json:"items"`
	}](t, rec)
	if rec.Code != http.StatusOK || len(list.Items) != 1 || list.Items[0].ID != created.ID {
		t.Fatalf("list: status %d, items %+v", rec.Code, list.Items)
	}

	if rec = do(t, h, http.MethodDelete, "/v1/items/"+created.ID, ""); rec.Code != http.StatusOK {
		t.Fatalf("delete: status %d", rec.Code)
	}
	if rec = do(t, h, http.MethodGet, "/v1/items/"+created.ID, ""); rec.Code != http.StatusNotFound {
		t.Fatalf("get after delete: status %d", rec.Code)
	}
	if rec = do(t, h, http.MethodDelete, "/v1/items/"+created.ID, ""); rec.Code != http.StatusNotFound {
		t.Fatalf("second delete: status %d", rec.Code)
	}
}

func TestUpdateOverHTTP(t *testing.T) {
	h := newHandler(t)
	created := decode[items.Item](t, do(t, h, http.MethodPost, "/v1/items", `{"name":"widget","quantity":"3"}`))

	rec := do(t, h, http.MethodPut, "/v1/items/"+created.ID, `{"name":"gadget","quantity":"5"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT: status %d, body %s", rec.Code, rec.Body)
	}
	updated := decode[items.Item](t, rec)
	if updated.ID != created.ID || updated.Name != "gadget" || updated.Quantity != 5 || !updated.CreatedAt.Equal(created.CreatedAt) {
		t.Fatalf("PUT returned %+v; want %s renamed gadget, quantity 5, created at %v", updated, created.ID, created.CreatedAt)
	}
	if got := decode[items.Item](t, do(t, h, http.MethodGet, "/v1/items/"+created.ID, "")); got.Name != "gadget" || got.Quantity != 5 {
		t.Fatalf("GET after PUT = %+v", got)
	}
	// PUT replaces every field a client sets: one left out is reset.
	if got := decode[items.Item](t, do(t, h, http.MethodPut, "/v1/items/"+created.ID, `{"name":"bare"}`)); got.Name != "bare" || got.Quantity != 0 {
		t.Fatalf("PUT without quantity = %+v, want quantity 0", got)
	}

	tests := []struct {
		name, target, body string
		want               int
	}{
		{"missing item", "/v1/items/" + items.NewID(), `{"name":"x"}`, http.StatusNotFound},
		{"malformed ID", "/v1/items/nope", `{"name":"x"}`, http.StatusNotFound},
		{"invalid item", "/v1/items/" + created.ID, `{"name":""}`, http.StatusBadRequest},
		{"unknown field", "/v1/items/" + created.ID, `{"name":"x","colour":"red"}`, http.StatusBadRequest},
		{"malformed JSON", "/v1/items/" + created.ID, `{"name":`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := do(t, h, http.MethodPut, tt.target, tt.body); rec.Code != tt.want {
				t.Fatalf("PUT %s %s: status %d, want %d; body %s", tt.target, tt.body, rec.Code, tt.want, rec.Body)
			}
		})
	}
}

func TestListPaging(t *testing.T) {
	h := newHandler(t)
	for range 5 {
		if rec := do(t, h, http.MethodPost, "/v1/items", `{"name":"x"}`); rec.Code != http.StatusOK {
			t.Fatalf("create: %d", rec.Code)
		}
	}
	type page struct {
		Items []items.Item `json:"items"`
		Next  string       `json:"nextPageToken"`
	}
	seen := map[string]bool{}
	next := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		rec := do(t, h, http.MethodGet, "/v1/items?pageSize=2&pageToken="+next, "")
		p := decode[page](t, rec)
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("item %s on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		if p.Next == "" {
			break
		}
		next = p.Next
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d items, want 5", len(seen))
	}
	if rec := do(t, h, http.MethodGet, "/v1/items?pageSize=zero", ""); rec.Code != http.StatusBadRequest {
		t.Fatalf("pageSize=zero: status %d, want 400", rec.Code)
	}
}

func TestBadRequests(t *testing.T) {
	h := newHandler(t)
	tests := []struct {
		name, method, target, body string
		want                       int
	}{
		{"malformed JSON", http.MethodPost, "/v1/items", `{"name":`, http.StatusBadRequest},
		{"not an object", http.MethodPost, "/v1/items", `[1,2]`, http.StatusBadRequest},
		{"unknown field", http.MethodPost, "/v1/items", `{"name":"x","colour":"red"}`, http.StatusBadRequest},
		{"trailing data", http.MethodPost, "/v1/items", `{"name":"x"} {"name":"y"}`, http.StatusBadRequest},
		{"empty body", http.MethodPost, "/v1/items", ``, http.StatusBadRequest},
		{"invalid item", http.MethodPost, "/v1/items", `{"name":""}`, http.StatusBadRequest},
		{"negative quantity", http.MethodPost, "/v1/items", `{"name":"x","quantity":-1}`, http.StatusBadRequest},
		{"unknown item", http.MethodGet, "/v1/items/" + items.NewID(), ``, http.StatusNotFound},
		{"malformed id", http.MethodGet, "/v1/items/xyz", ``, http.StatusNotFound},
		{"wrong method", http.MethodPut, "/v1/items", `{}`, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, h, tt.method, tt.target, tt.body)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == http.StatusMethodNotAllowed {
				return // answered by the mux, not by the API
			}
			// Generated and hand-written routes answer errors alike.
			if e := decode[struct{ Error, Code string }](t, rec); e.Error == "" || e.Code == "" {
				t.Fatalf("error response lacks its message or code: %s", rec.Body)
			}
		})
	}
}

func TestOversizeBodies(t *testing.T) {
	h := newHandler(t)
	big := `{"name":"` + strings.Repeat("a", 2*maxBody) + `"}`

	// A declared length over the limit is refused before the body is read.
	body := &countingReader{r: strings.NewReader(big)}
	req := httptest.NewRequest(http.MethodPost, "/v1/items", body)
	req.ContentLength = int64(len(big))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared oversize body: status %d, want 413", rec.Code)
	}
	if body.n != 0 {
		t.Fatalf("handler read %d bytes of a body it had to refuse unread", body.n)
	}

	// A body of unknown length is cut off once it passes the limit.
	body = &countingReader{r: strings.NewReader(big)}
	req = httptest.NewRequest(http.MethodPost, "/v1/items", body)
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversize body: status %d, want 413", rec.Code)
	}
	if body.n > 2*maxBody {
		t.Fatalf("handler read %d bytes; it must stop soon after the %d-byte limit", body.n, maxBody)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
