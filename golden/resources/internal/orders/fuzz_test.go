package orders_test

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
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/orders"
	"example.com/shop/internal/pgtest"
	"example.com/shop/internal/store/memory"
	"example.com/shop/internal/store/postgres"
)

// A fuzzStore is one store every fuzz input is run against.
type fuzzStore struct {
	name  string
	store orders.Store
}

// fuzzStores returns the stores the fuzz targets compare: the memory store
// and, when DATABASE_URL is set, the Postgres store on a database of the
// run's own. An input one store accepts and another rejects is a
// validation gap: the stricter store's rule belongs in the Service.
func fuzzStores(f *testing.F) []fuzzStore {
	f.Helper()
	stores := []fuzzStore{{"memory", memory.NewOrders()}}
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
	stores = append(stores, fuzzStore{"postgres", pg.Orders()})
	return stores
}

// missingID is a well-formed ID no store has.
const missingID = "0123456789abcdef0123456789abcdef"

// validBody is a order every store accepts, as JSON.
const validBody = `{"customer":"alpha","totalCents":"1234567890123","note":"alpha","placedAt":"2026-01-02T03:04:05Z"}`

// fuzzHandlers serves the orders routes over each of fuzzStores.
func fuzzHandlers(f *testing.F) ([]string, []http.Handler) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var names []string
	var hs []http.Handler
	for _, s := range fuzzStores(f) {
		mux := http.NewServeMux()
		orders.Resource(orders.NewService(s.store), log, 1<<16).RegisterHTTP(mux)
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

// FuzzHTTPCreate posts arbitrary bodies to POST /v1/orders, and puts
// them to a order that does not exist: the JSON decoding and the
// validation of every field run before the store is asked.
func FuzzHTTPCreate(f *testing.F) {
	for _, seed := range []string{
		validBody,
		strings.Replace(validBody, "{", `{"unknown":true,`, 1),
		strings.Replace(validBody, "{", `{"id":"x",`, 1),
		`{"a":"\u0000"}`, "{\"a\":\"\xff\xfe\"}", `{"a":"\ud800"}`,
		`{"a":1e400}`, `{"a":9223372036854775808}`, `{"a":"NaN"}`, `{"a":"0000-01-01T00:00:00Z"}`,
		`{"a":"` + strings.Repeat("é", 1001) + `"}`,
		`[]`, `null`, `{`, ``, `{}{}`,
	} {
		f.Add(seed)
	}
	names, hs := fuzzHandlers(f)
	f.Fuzz(func(t *testing.T, body string) {
		serveEach(t, names, hs, http.MethodPost, "/v1/orders", body)
		serveEach(t, names, hs, http.MethodPut, "/v1/orders/"+missingID, body)
	})
}

// FuzzHTTPRead reads arbitrary IDs and pages.
func FuzzHTTPRead(f *testing.F) {
	f.Add(missingID, "10", "")
	f.Add("a\x00b", "-1", "not a cursor")
	f.Add("\xff", "99999999999999999999", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY")
	f.Add("", "0", "\x00")
	names, hs := fuzzHandlers(f)
	f.Fuzz(func(t *testing.T, id, size, token string) {
		serveEach(t, names, hs, http.MethodGet, "/v1/orders/"+url.PathEscape(id), "")
		serveEach(t, names, hs, http.MethodDelete, "/v1/orders/"+url.PathEscape(id), "")
		serveEach(t, names, hs, http.MethodGet, "/v1/orders?page_size="+url.QueryEscape(size)+"&page_token="+url.QueryEscape(token), "")
	})
}

// FuzzGRPCRequests calls the gRPC methods with requests decoded from
// arbitrary protobuf wire bytes, as a client could send them, so every
// field of every type is fuzzed: each answer is OK or a client error, the
// same on every store.
func FuzzGRPCRequests(f *testing.F) {
	valid := &shopv1.CreateOrderRequest{}
	if err := protojson.Unmarshal([]byte(validBody), valid); err != nil {
		f.Fatal(err)
	}
	wire, err := proto.Marshal(valid)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(wire, missingID, int32(10), "")
	f.Add([]byte{}, "a\x00b", int32(-1), "\x00")
	f.Add([]byte("\x0a\x02\xff\xfe"), "\xff", int32(1<<30), "not a token")
	f.Add(wire[:len(wire)/2], "", int32(0), "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var servers []*orders.GRPCServer
	var names []string
	for _, s := range fuzzStores(f) {
		servers = append(servers, orders.NewGRPCServer(orders.NewService(s.store), log))
		names = append(names, s.name)
	}
	clientError := func(c codes.Code) bool {
		switch c {
		case codes.OK, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.OutOfRange, codes.FailedPrecondition:
			return true
		}
		return false
	}
	f.Fuzz(func(t *testing.T, wire []byte, id string, pageSize int32, token string) {
		create := &shopv1.CreateOrderRequest{}
		update := &shopv1.UpdateOrderRequest{}
		// What does not decode, the gRPC server refuses before any method.
		if proto.Unmarshal(wire, create) != nil || proto.Unmarshal(wire, update) != nil {
			return
		}
		update.Id = id
		ctx := t.Context()
		calls := []struct {
			method string
			do     func(*orders.GRPCServer) error
		}{
			{"CreateOrder", func(s *orders.GRPCServer) error {
				_, err := s.CreateOrder(ctx, create)
				return err
			}},
			{"UpdateOrder", func(s *orders.GRPCServer) error {
				_, err := s.UpdateOrder(ctx, update)
				return err
			}},
			{"GetOrder", func(s *orders.GRPCServer) error {
				_, err := s.GetOrder(ctx, &shopv1.GetOrderRequest{Id: id})
				return err
			}},
			{"ListOrders", func(s *orders.GRPCServer) error {
				_, err := s.ListOrders(ctx, &shopv1.ListOrdersRequest{PageSize: pageSize, PageToken: token})
				return err
			}},
			{"DeleteOrder", func(s *orders.GRPCServer) error {
				_, err := s.DeleteOrder(ctx, &shopv1.DeleteOrderRequest{Id: id})
				return err
			}},
		}
		for _, call := range calls {
			var first codes.Code
			for i, s := range servers {
				code := status.Code(call.do(s))
				if !clientError(code) {
					t.Fatalf("%s(%v, id %q, page size %d, token %q) on the %s store = %v: client input must get OK or a client error", call.method, create, id, pageSize, token, names[i], code)
				}
				if i == 0 {
					first = code
				} else if code != first {
					t.Fatalf("%s(%v, id %q): %s answered %v, %s %v", call.method, create, id, names[0], first, names[i], code)
				}
			}
		}
	})
}
