package orders_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/shop/internal/orders"
	"example.com/shop/internal/store/memory"
)

// newHandler returns the resource's routes over an in-memory store, as
// the server mounts them.
func newHandler(t *testing.T) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	orders.Resource(orders.NewService(memory.NewOrders()), log, 1<<16).RegisterHTTP(mux)
	return mux
}

func do(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, r))
	return rec
}

// decode reads a response body into v, through its JSON mapping.
func decode(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("response %q is not JSON: %v", rec.Body.String(), err)
	}
}

// decodeRecord reads a response body that is one order.
func decodeRecord(t *testing.T, rec *httptest.ResponseRecorder) *orders.Order {
	t.Helper()
	v := &orders.Order{}
	decode(t, rec, v)
	return v
}

func TestHTTPLifecycle(t *testing.T) {
	h := newHandler(t)

	rec := do(t, h, http.MethodPost, "/v1/orders", `{"customer":"alpha","totalCents":"1234567890123","note":"alpha","placedAt":"2026-01-02T03:04:05Z"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("create: status %d, body %s", rec.Code, rec.Body)
	}
	created := decodeRecord(t, rec)
	checkSame(t, created, sample())
	createdJSON := rec.Body.String()
	if !strings.Contains(createdJSON, `"createTime":"`) || !strings.Contains(createdJSON, `"updateTime":"`) {
		t.Fatalf("create answered %s, want createTime and updateTime", createdJSON)
	}

	// GET by ID is served from the stored encoding; it writes the same
	// JSON as the generated routes.
	rec = do(t, h, http.MethodGet, "/v1/orders/"+created.GetId(), "")
	if rec.Code != http.StatusOK {
		t.Fatalf("get: status %d, body %s", rec.Code, rec.Body)
	}
	if got := strings.TrimSuffix(rec.Body.String(), "\n"); got != strings.TrimSuffix(createdJSON, "\n") {
		t.Fatalf("get answered %s, create %s: the two routes disagree", got, createdJSON)
	}

	rec = do(t, h, http.MethodPut, "/v1/orders/"+created.GetId(), `{"customer":"beta","totalCents":"42","note":"beta","placedAt":"2027-06-07T08:09:10.000123Z"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("update: status %d, body %s", rec.Code, rec.Body)
	}
	checkSame(t, decodeRecord(t, rec), other())
	rec = do(t, h, http.MethodGet, "/v1/orders/"+created.GetId(), "")
	checkSame(t, decodeRecord(t, rec), other())

	rec = do(t, h, http.MethodGet, "/v1/orders?pageSize=10", "")
	var list struct {
		Orders []*orders.Order `json:"orders"`
	}
	decode(t, rec, &list)
	if rec.Code != http.StatusOK || len(list.Orders) != 1 || list.Orders[0].GetId() != created.GetId() {
		t.Fatalf("list: status %d, orders %+v", rec.Code, list.Orders)
	}

	if rec = do(t, h, http.MethodDelete, "/v1/orders/"+created.GetId(), ""); rec.Code != http.StatusOK {
		t.Fatalf("delete: status %d", rec.Code)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		if rec = do(t, h, method, "/v1/orders/"+created.GetId(), ""); rec.Code != http.StatusNotFound {
			t.Fatalf("%s after delete: status %d", method, rec.Code)
		}
	}
	if rec = do(t, h, http.MethodPut, "/v1/orders/"+created.GetId(), `{"customer":"beta","totalCents":"42","note":"beta","placedAt":"2027-06-07T08:09:10.000123Z"}`); rec.Code != http.StatusNotFound {
		t.Fatalf("update after delete: status %d", rec.Code)
	}
}

func TestHTTPInvalidRequests(t *testing.T) {
	h := newHandler(t)
	for name, body := range map[string]string{
		"not JSON":             `{`,
		"unknown field":        `{"noSuchField":1}`,
		"NUL byte in customer": `{"customer":"a\u0000b"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if rec := do(t, h, http.MethodPost, "/v1/orders", body); rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, body %s; want 400", rec.Code, rec.Body)
			}
		})
	}
}
