package items_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/items"
	"example.com/shop/internal/pgtest"
	"example.com/shop/internal/store/memory"
	"example.com/shop/internal/store/postgres"
)

// A fuzzStore is one store every fuzz input is run against.
type fuzzStore struct {
	name  string
	store items.Store
}

// fuzzStores returns the stores the fuzz targets compare: the memory store, and, when DATABASE_URL is set, the Postgres store on a database of the
// run's own. An input one store accepts and another rejects is a
// validation gap: the stricter store's rule belongs in Validate.
func fuzzStores(f *testing.F) []fuzzStore {
	f.Helper()
	stores := []fuzzStore{{"memory", memory.New()}}
	if os.Getenv("DATABASE_URL") == "" {
		return stores
	}
	cfg := postgres.DefaultConfig()
	cfg.URL = pgtest.NewDatabase(f)
	cfg.MinConns, cfg.MinIdleConns = 0, 0
	pg, err := postgres.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(pg.Close)
	if _, err := postgres.Migrate(context.Background(), pg.Pool()); err != nil {
		f.Fatal(err)
	}
	stores = append(stores, fuzzStore{"postgres", pg})
	return stores
}

// fuzzHandlers serves the items routes over each of fuzzStores.
func fuzzHandlers(f *testing.F) ([]string, []http.Handler) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var names []string
	var hs []http.Handler
	for _, s := range fuzzStores(f) {
		mux := http.NewServeMux()
		items.NewHTTPAPI(items.NewService(s.store), log, items.HTTPOptions{MaxBodyBytes: maxBody}).Register(mux)
		names = append(names, s.name)
		hs = append(hs, mux)
	}
	return names, hs
}

// serveEach sends one request to every handler and fails on a 5xx, or on
// handlers that answer differently.
func serveEach(t *testing.T, names []string, hs []http.Handler, method, target, body string) {
	t.Helper()
	first := 0
	for i, h := range hs {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q on the %s store = %d %s: client input must never be a server error", method, target, body, names[i], rec.Code, rec.Body)
		}
		if i == 0 {
			first = rec.Code
		} else if rec.Code != first {
			t.Fatalf("%s %s %q: the %s store answered %d, the %s store %d", method, target, body, names[0], first, names[i], rec.Code)
		}
	}
}

// FuzzHTTPCreate posts arbitrary bodies to POST /v1/items.
func FuzzHTTPCreate(f *testing.F) {
	for _, seed := range []string{
		`{"name":"widget","quantity":"3"}`,
		`{"name":"a\u0000b","quantity":1}`,
		"{\"name\":\"\xff\xfe\",\"quantity\":1}",
		`{"name":"\ud800","quantity":1}`,
		`{"name":"","quantity":-1}`,
		`{"name":"x","quantity":9223372036854775808}`,
		`{"name":"x","quantity":1e400}`,
		`{"name":"x","quantity":"1"}`,
		`{"name":"x","quantity":1,"extra":true}`,
		`{"name":["x"]}`,
		`{"name":"` + strings.Repeat("é", 201) + `","quantity":1}`,
		`[]`, `null`, `{`, ``, `{"name":"x"}{"name":"y"}`,
	} {
		f.Add(seed)
	}
	names, hs := fuzzHandlers(f)
	f.Fuzz(func(t *testing.T, body string) {
		serveEach(t, names, hs, http.MethodPost, "/v1/items", body)
	})
}

// FuzzHTTPRead reads arbitrary IDs and pages.
func FuzzHTTPRead(f *testing.F) {
	f.Add("0123456789abcdef0123456789abcdef", "10", "")
	f.Add("a\x00b", "-1", "not a cursor")
	f.Add("\xff", "99999999999999999999", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY")
	f.Add("", "0", "\x00")
	names, hs := fuzzHandlers(f)
	f.Fuzz(func(t *testing.T, id, limit, after string) {
		serveEach(t, names, hs, http.MethodGet, "/v1/items/"+url.PathEscape(id), "")
		serveEach(t, names, hs, http.MethodDelete, "/v1/items/"+url.PathEscape(id), "")
		serveEach(t, names, hs, http.MethodGet, "/v1/items?page_size="+url.QueryEscape(limit)+"&page_token="+url.QueryEscape(after), "")
	})
}

// FuzzGRPCRequests calls the gRPC methods with arbitrary fields, as a
// client could send them: each answer is OK or a client error, the same on
// every store.
func FuzzGRPCRequests(f *testing.F) {
	f.Add("widget", int64(3), "0123456789abcdef0123456789abcdef", int32(10), "")
	f.Add("a\x00b", int64(-1), "a\x00b", int32(-1), "\x00")
	f.Add("\xff\xfe", int64(1<<62), "\xff", int32(1<<30), "not a token")
	f.Add("", int64(0), "", int32(0), "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var servers []*items.Server
	var names []string
	for _, s := range fuzzStores(f) {
		servers = append(servers, items.NewServer(items.NewService(s.store), log))
		names = append(names, s.name)
	}
	clientError := func(c codes.Code) bool {
		switch c {
		case codes.OK, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.OutOfRange, codes.FailedPrecondition:
			return true
		}
		return false
	}
	f.Fuzz(func(t *testing.T, name string, quantity int64, id string, pageSize int32, token string) {
		ctx := context.Background()
		calls := []struct {
			method string
			do     func(*items.Server) error
		}{
			{"CreateItem", func(s *items.Server) error {
				_, err := s.CreateItem(ctx, &shopv1.CreateItemRequest{Name: name, Quantity: quantity})
				return err
			}},
			{"GetItem", func(s *items.Server) error {
				_, err := s.GetItem(ctx, &shopv1.GetItemRequest{Id: id})
				return err
			}},
			{"ListItems", func(s *items.Server) error {
				_, err := s.ListItems(ctx, &shopv1.ListItemsRequest{PageSize: pageSize, PageToken: token})
				return err
			}},
			{"DeleteItem", func(s *items.Server) error {
				_, err := s.DeleteItem(ctx, &shopv1.DeleteItemRequest{Id: id})
				return err
			}},
		}
		for _, call := range calls {
			var first codes.Code
			for i, s := range servers {
				err := call.do(s)
				code := status.Code(err)
				if !clientError(code) {
					t.Fatalf("%s(name %q, quantity %d, id %q, page size %d, token %q) on the %s store = %v: client input must get OK or a client error", call.method, name, quantity, id, pageSize, token, names[i], err)
				}
				if i == 0 {
					first = code
				} else if code != first {
					t.Fatalf("%s(name %q, quantity %d, id %q): %s answered %v, %s %v", call.method, name, quantity, id, names[0], first, names[i], code)
				}
			}
		}
	})
}
