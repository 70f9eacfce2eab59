// Package httpmod_test checks the HTTP bindings and JSON codec perfgen
// generates, from inside a module that holds them: every binding over real
// HTTP/1.1 and h2c connections, the JSON against protojson on random
// messages, a fuzz test of the decoder, and benchmarks against
// encoding/json and protojson.
//
// TestHTTPBindingsInAModule in internal/protobuild copies this file into a
// temporary module beside the code generated from testdata/http/api; it is
// not built as part of perfgen.
package httpmod_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	itemsv1 "example.com/shop/api/items/v1"
	shopv1 "example.com/shop/api/shop/v1"
)

// shop implements every method; it records the request it was given and
// answers with a product made from it.
type shop struct {
	mu   sync.Mutex
	last proto.Message
	err  error
}

func (s *shop) record(in proto.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = proto.Clone(in)
	return s.err
}

func (s *shop) GetProduct(_ context.Context, in *shopv1.GetProductRequest) (*shopv1.Product, error) {
	if err := s.record(in); err != nil {
		return nil, err
	}
	return &shopv1.Product{Id: in.GetId(), I64: in.GetShelf(), Tags: in.GetFields()}, nil
}

func (s *shop) ListProducts(_ context.Context, in *shopv1.ListProductsRequest) (*shopv1.ListProductsResponse, error) {
	if err := s.record(in); err != nil {
		return nil, err
	}
	return &shopv1.ListProductsResponse{Products: []*shopv1.Product{{Id: "a"}, {Id: "b"}}, NextPageToken: "b"}, nil
}

func (s *shop) CreateProduct(_ context.Context, in *shopv1.Product) (*shopv1.Product, error) {
	if err := s.record(in); err != nil {
		return nil, err
	}
	return in, nil
}

func (s *shop) UpdateProduct(_ context.Context, in *shopv1.UpdateProductRequest) (*shopv1.Product, error) {
	if err := s.record(in); err != nil {
		return nil, err
	}
	return in.GetProduct(), nil
}

func (s *shop) DeleteProduct(_ context.Context, in *shopv1.DeleteProductRequest) (*shopv1.DeleteProductResponse, error) {
	if err := s.record(in); err != nil {
		return nil, err
	}
	return &shopv1.DeleteProductResponse{}, nil
}

func (s *shop) RestockProduct(_ context.Context, in *shopv1.RestockRequest) (*shopv1.RestockResponse, error) {
	if err := s.record(in); err != nil {
		return nil, err
	}
	return &shopv1.RestockResponse{Product: &shopv1.Product{Id: in.GetId(), I64: in.GetCount()}, Total: 99}, nil
}

func (s *shop) Ping(context.Context, *shopv1.DeleteProductResponse) (*shopv1.DeleteProductResponse, error) {
	return &shopv1.DeleteProductResponse{}, nil
}

// servers returns an HTTP/1.1 and an h2c client, each talking to its own
// httptest server that serves the generated routes.
func servers(t *testing.T, srv *shop, opts shopv1.ShopHTTPOptions) map[string]func(*http.Request) (*http.Response, error) {
	mux := http.NewServeMux()
	shopv1.RegisterShopHTTP(mux, srv, opts)

	h1 := httptest.NewServer(mux)
	t.Cleanup(h1.Close)

	h2 := httptest.NewUnstartedServer(mux)
	h2.Config.Protocols = new(http.Protocols)
	h2.Config.Protocols.SetUnencryptedHTTP2(true)
	h2.Start()
	t.Cleanup(h2.Close)
	h2c := &http.Client{Transport: &http.Transport{Protocols: h2.Config.Protocols}}

	return map[string]func(*http.Request) (*http.Response, error){
		"HTTP/1.1": func(r *http.Request) (*http.Response, error) {
			r.URL.Host = strings.TrimPrefix(h1.URL, "http://")
			return h1.Client().Do(r)
		},
		"h2c": func(r *http.Request) (*http.Response, error) {
			r.URL.Host = strings.TrimPrefix(h2.URL, "http://")
			return h2c.Do(r)
		},
	}
}

func TestBindings(t *testing.T) {
	srv := &shop{}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	tests := []struct {
		name, method, target, body string
		wantRequest                proto.Message
		wantBody                   proto.Message // decoded with protojson
	}{
		{
			name: "path and query", method: "GET",
			target:      "/v1/products/p%2F1?fields=a&fields=b&kind=KIND_GAME&verbose=true&revision=3&minScore=1.5&shelf=7",
			wantRequest: &shopv1.GetProductRequest{Id: "p/1", Fields: []string{"a", "b"}, Kind: shopv1.Kind_KIND_GAME, Verbose: true, Revision: proto.Int32(3), MinScore: 1.5, Shelf: 7},
			wantBody:    &shopv1.Product{Id: "p/1", I64: 7, Tags: []string{"a", "b"}},
		},
		{
			name: "additional binding with an integer path variable", method: "GET",
			target:      "/v1/shelves/42/products/x?min_score=2&kind=1",
			wantRequest: &shopv1.GetProductRequest{Id: "x", Shelf: 42, MinScore: 2, Kind: shopv1.Kind_KIND_BOOK},
			wantBody:    &shopv1.Product{Id: "x", I64: 42},
		},
		{
			name: "list with repeated enum query", method: "GET",
			target:      "/v1/products?pageSize=10&page_token=t&kinds=KIND_BOOK&kinds=2&maxPrice=18446744073709551615",
			wantRequest: &shopv1.ListProductsRequest{PageSize: 10, PageToken: "t", Kinds: []shopv1.Kind{shopv1.Kind_KIND_BOOK, shopv1.Kind_KIND_GAME}, MaxPrice: math.MaxUint64},
			wantBody:    &shopv1.ListProductsResponse{Products: []*shopv1.Product{{Id: "a"}, {Id: "b"}}, NextPageToken: "b"},
		},
		{
			name: "whole body", method: "POST", target: "/v1/products",
			body:        `{"id":"n","displayName":"Book","i64":"-9007199254740993","u64":18,"createTime":"2026-01-02T03:04:05.600Z","price":{"currency":"EUR","units":"3"},"stock":{"a":"1"},"kind":"KIND_BOOK","blob":"aGk="}`,
			wantRequest: &shopv1.Product{Id: "n", DisplayName: "Book", I64: -9007199254740993, U64: 18, CreateTime: timestamppb.New(ts), Price: &shopv1.Money{Currency: "EUR", Units: 3}, Stock: map[string]int64{"a": 1}, Kind: shopv1.Kind_KIND_BOOK, Blob: []byte("hi")},
			wantBody:    &shopv1.Product{Id: "n", DisplayName: "Book", I64: -9007199254740993, U64: 18, CreateTime: timestamppb.New(ts), Price: &shopv1.Money{Currency: "EUR", Units: 3}, Stock: map[string]int64{"a": 1}, Kind: shopv1.Kind_KIND_BOOK, Blob: []byte("hi")},
		},
		{
			name: "body field, path and query", method: "PATCH", target: "/v1/products/p1?allowMissing=true",
			body:        `{"display_name":"New"}`,
			wantRequest: &shopv1.UpdateProductRequest{Id: "p1", AllowMissing: true, Product: &shopv1.Product{DisplayName: "New"}},
			wantBody:    &shopv1.Product{DisplayName: "New"},
		},
		{
			name: "delete", method: "DELETE", target: "/v1/products/p1",
			wantRequest: &shopv1.DeleteProductRequest{Id: "p1"},
			wantBody:    &shopv1.DeleteProductResponse{},
		},
		{
			name: "verb suffix, body and response_body", method: "POST", target: "/v1/products/p1/stock:add",
			body:        `{"count":5}`,
			wantRequest: &shopv1.RestockRequest{Id: "p1", Count: 5},
			wantBody:    &shopv1.Product{Id: "p1", I64: 5},
		},
	}
	for proto_, do := range servers(t, srv, shopv1.ShopHTTPOptions{}) {
		for _, tt := range tests {
			t.Run(proto_+"/"+tt.name, func(t *testing.T) {
				req, err := http.NewRequest(tt.method, "http://x"+tt.target, strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				if want := map[string]int{"HTTP/1.1": 1, "h2c": 2}[proto_]; resp.ProtoMajor != want {
					t.Fatalf("served over %s, want HTTP/%d", resp.Proto, want)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				srv.mu.Lock()
				got := srv.last
				srv.mu.Unlock()
				if !proto.Equal(got, tt.wantRequest) {
					t.Errorf("the method got\n%v\nwant\n%v", got, tt.wantRequest)
				}
				gotBody := tt.wantBody.ProtoReflect().New().Interface()
				if err := protojson.Unmarshal(body, gotBody); err != nil {
					t.Fatalf("protojson cannot read the response %s: %v", body, err)
				}
				if !proto.Equal(gotBody, tt.wantBody) {
					t.Errorf("response\n%s\nwant\n%v", body, tt.wantBody)
				}
			})
		}
	}
}

func TestErrors(t *testing.T) {
	var logged []error
	var mu sync.Mutex
	srv := &shop{}
	opts := shopv1.ShopHTTPOptions{MaxBodyBytes: 64, ErrorLog: func(_ *http.Request, err error) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, err)
	}}
	tests := []struct {
		name, method, target, body string
		methodErr                  error
		wantStatus                 int
		wantCode, wantError        string
	}{
		{name: "unknown body field", method: "POST", target: "/v1/products", body: `{"id":"x","colour":"red"}`, wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantError: `unknown field "colour"`},
		{name: "unknown nested field", method: "POST", target: "/v1/products", body: `{"price":{"cents":1}}`, wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantError: `field price: unknown field "cents"`},
		{name: "wrong type", method: "POST", target: "/v1/products", body: `{"i32":"x"}`, wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantError: `field i32: "x" is not a 32-bit integer`},
		{name: "trailing data", method: "POST", target: "/v1/products", body: `{} {}`, wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantError: "unexpected data after the JSON value"},
		{name: "body too large", method: "POST", target: "/v1/products", body: `{"id":"` + strings.Repeat("x", 100) + `"}`, wantStatus: 413, wantCode: "RESOURCE_EXHAUSTED", wantError: "request body larger than 64 bytes"},
		{name: "unknown query parameter", method: "GET", target: "/v1/products?colour=red", wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantError: `unknown query parameter "colour"`},
		{name: "query on a route without query fields", method: "DELETE", target: "/v1/products/x?force=1", wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantError: "this route takes no query parameters"},
		{name: "bad integer path variable", method: "GET", target: "/v1/shelves/x/products/y", wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantError: `parameter "shelf": "x" is not a 64-bit integer`},
		{name: "bad enum query", method: "GET", target: "/v1/products/y?kind=KIND_CAR", wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantError: `parameter "kind": "KIND_CAR" is not a value of the enum`},
		{name: "status error", method: "GET", target: "/v1/products/y", methodErr: status.Error(codes.NotFound, "no product y"), wantStatus: 404, wantCode: "NOT_FOUND", wantError: "no product y"},
		{name: "wrapped status error", method: "GET", target: "/v1/products/y", methodErr: fmt.Errorf("lookup: %w", status.Error(codes.AlreadyExists, "dup")), wantStatus: 409, wantCode: "ALREADY_EXISTS", wantError: "dup"},
		{name: "unavailable", method: "GET", target: "/v1/products/y", methodErr: status.Error(codes.Unavailable, "later"), wantStatus: 503, wantCode: "UNAVAILABLE", wantError: "later"},
		{name: "deadline", method: "GET", target: "/v1/products/y", methodErr: context.DeadlineExceeded, wantStatus: 504, wantCode: "DEADLINE_EXCEEDED", wantError: "deadline exceeded"},
		{name: "plain error", method: "GET", target: "/v1/products/y", methodErr: errors.New("disk on fire"), wantStatus: 500, wantCode: "INTERNAL", wantError: "internal error"},
		{name: "no route", method: "PUT", target: "/v1/products/y", wantStatus: 405},
	}
	for proto_, do := range servers(t, srv, opts) {
		for _, tt := range tests {
			t.Run(proto_+"/"+tt.name, func(t *testing.T) {
				srv.mu.Lock()
				srv.err = tt.methodErr
				srv.mu.Unlock()
				req, err := http.NewRequest(tt.method, "http://x"+tt.target, strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
				}
				if tt.wantCode == "" {
					return
				}
				var e struct{ Error, Code string }
				dec := json.NewDecoder(bytes.NewReader(body))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&e); err != nil {
					t.Fatalf("error body %s: %v", body, err)
				}
				if e.Code != tt.wantCode || !strings.Contains(e.Error, tt.wantError) {
					t.Errorf("error body %s, want code %s and an error containing %q", body, tt.wantCode, tt.wantError)
				}
			})
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 2 || logged[0].Error() != "disk on fire" {
		t.Errorf("ErrorLog saw %v, want the plain error once per protocol", logged)
	}
}

// TestHTTPRuleReadsThroughGenproto checks that the embedded
// google/api/http.proto agrees with the Go types of
// google.golang.org/genproto/googleapis/api: the option perfgen compiled is
// read back through them.
func TestHTTPRuleReadsThroughGenproto(t *testing.T) {
	m := shopv1.File_shop_v1_shop_proto.Services().ByName("Shop").Methods()
	get := proto.GetExtension(m.ByName("GetProduct").Options(), annotations.E_Http).(*annotations.HttpRule)
	if get.GetGet() != "/v1/products/{id}" || len(get.GetAdditionalBindings()) != 1 || get.GetAdditionalBindings()[0].GetGet() != "/v1/shelves/{shelf}/products/{id}" {
		t.Errorf("GetProduct's rule reads back as %v", get)
	}
	restock := proto.GetExtension(m.ByName("RestockProduct").Options(), annotations.E_Http).(*annotations.HttpRule)
	if restock.GetPost() != "/v1/products/{id}/stock:add" || restock.GetBody() != "*" || restock.GetResponseBody() != "product" {
		t.Errorf("RestockProduct's rule reads back as %v", restock)
	}
}

// randomProduct fills every field of a Product from r, including the
// values JSON treats specially: 64-bit extremes, NaN and infinities,
// escapes and non-ASCII text, negative zero, unknown enum numbers.
func randomProduct(r *rand.Rand) *shopv1.Product {
	str := func() string {
		pieces := []string{"", "a", "é", "\"", "\\", "\n", "\x01", "<&>", "日本", "\u2028", "😀", "/"}
		var b strings.Builder
		for range r.IntN(5) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	i64 := func() int64 {
		return []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 1 << 53, -(1 << 53) - 1, r.Int64()}[r.IntN(8)]
	}
	f64 := func() float64 {
		return []float64{0, 1.5, -2.25, math.Inf(1), math.Inf(-1), math.NaN(), 1e-7, 1e21, 123456789.125, math.Copysign(0, -1), r.NormFloat64() * 1e10, math.SmallestNonzeroFloat64, math.MaxFloat64}[r.IntN(13)]
	}
	kind := func() shopv1.Kind { return shopv1.Kind(r.IntN(4)) } // 3 is not a declared value
	dims := func() *shopv1.Product_Dimensions {
		d := &shopv1.Product_Dimensions{Width: float32(f64()), Height: float32(r.NormFloat64())}
		if r.IntN(3) == 0 {
			d.Inner = &shopv1.Product_Dimensions{Width: 1}
		}
		return d
	}
	ts := func() *timestamppb.Timestamp {
		nanos := []int32{0, 1, 1000, 1_000_000, 999_999_999, r.Int32N(1e9)}[r.IntN(6)]
		return &timestamppb.Timestamp{Seconds: r.Int64N(253402300799+62135596800) - 62135596800, Nanos: nanos}
	}
	p := &shopv1.Product{
		Id: str(), DisplayName: str(),
		I32: r.Int32() - r.Int32(), I64: i64(), U32: r.Uint32(), U64: r.Uint64(),
		S32: -r.Int32(), S64: i64(), F32: r.Uint32(), F64: r.Uint64(), Sf32: r.Int32(), Sf64: i64(),
		Ratio: float32(f64()), Score: f64(), Available: r.IntN(2) == 0,
		Blob: []byte(str()), Kind: kind(), CreateTime: ts(), Price: &shopv1.Money{Currency: str(), Units: i64(), Nanos: r.Int32()},
		Size: dims(),
	}
	for range r.IntN(3) {
		p.Tags = append(p.Tags, str())
		p.Counts = append(p.Counts, i64())
		p.Kinds = append(p.Kinds, kind())
		p.Parts = append(p.Parts, dims())
		p.History = append(p.History, ts())
		p.Chunks = append(p.Chunks, []byte(str()))
		p.Weights = append(p.Weights, f64())
	}
	if r.IntN(2) == 0 {
		p.Stock = map[string]int64{str(): i64(), str(): i64()}
		p.Labels = map[int32]string{r.Int32(): str(), -r.Int32(): str()}
		p.Variants = map[bool]*shopv1.Product_Dimensions{true: dims(), false: dims()}
		p.KindById = map[uint64]shopv1.Kind{r.Uint64(): kind()}
	}
	if r.IntN(2) == 0 {
		p.Rating = proto.Int32(r.Int32N(10) - 5)
		p.Note = proto.String(str())
	}
	if r.IntN(4) == 0 {
		p = &shopv1.Product{Id: p.Id} // mostly empty
	}
	return p
}

// TestJSONMatchesProtojson compares the generated codec with protojson on
// random messages: the same JSON values (compared decoded, as member order
// and number spelling may differ), and each reads the other's output back
// to an equal message.
func TestJSONMatchesProtojson(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		want := randomProduct(r)
		ours := want.AppendJSON(nil)
		theirs, err := protojson.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(decodeAny(t, ours), decodeAny(t, theirs)) {
			t.Fatalf("message %d:\nours   %s\ntheirs %s", i, ours, theirs)
		}
		got := new(shopv1.Product)
		if err := got.UnmarshalJSON(theirs); err != nil {
			t.Fatalf("message %d: reading protojson's %s: %v", i, theirs, err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("message %d: reading protojson's %s gave %v", i, theirs, got)
		}
		got.Reset()
		if err := protojson.Unmarshal(ours, got); err != nil {
			t.Fatalf("message %d: protojson cannot read %s: %v", i, ours, err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("message %d: protojson reads %s as %v", i, ours, got)
		}
	}
}

// decodeAny decodes JSON with numbers kept as text normalised through
// float64, so 1e21 and 1000000000000000000000 compare equal.
func decodeAny(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s is not JSON: %v", data, err)
	}
	return normalise(v)
}

func normalise(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = normalise(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = normalise(v[k])
		}
	}
	return v
}

// TestJSONAcceptsWhatProtojsonAccepts feeds inputs protojson reads, spelled
// in the ways the proto3 JSON mapping allows.
func TestJSONAcceptsWhatProtojsonAccepts(t *testing.T) {
	for _, in := range []string{
		`{"display_name":"x","available":true}`,
		`{"i64":123,"u64":"18446744073709551615","i32":"-5","u32":1e3}`,
		`{"ratio":"NaN","score":"-Infinity"}`,
		`{"score":"1.5e3"}`,
		`{"blob":"-_8"}`,
		`{"blob":"+/8="}`,
		`{"kind":2,"kinds":["KIND_BOOK",1]}`,
		`{"createTime":"2026-01-02T03:04:05+01:00"}`,
		`{"price":null,"tags":null,"stock":null,"i32":null}`,
		`{"labels":{"-1":"a"},"variants":{"true":{}},"kindById":{"7":"KIND_GAME"}}`,
		`{"note":"\u00e9\ud83d\ude00"}`,
		` { } `,
	} {
		want := new(shopv1.Product)
		if err := protojson.Unmarshal([]byte(in), want); err != nil {
			t.Fatalf("protojson rejects %s: %v", in, err)
		}
		got := new(shopv1.Product)
		if err := got.UnmarshalJSON([]byte(in)); err != nil {
			t.Errorf("rejected %s: %v", in, err)
			continue
		}
		if !proto.Equal(got, want) {
			t.Errorf("%s read as %v, protojson reads %v", in, got, want)
		}
	}
	for _, in := range []string{
		`{"nope":1}`, `{"i32":1.5}`, `{"i32":2147483648}`, `{"u32":-1}`, `{"kind":"KIND_CAR"}`,
		`{"createTime":"yesterday"}`, `{"tags":"a"}`, `{"id":1}`, `{"id":"a"`, `[]`, `{"id":"\x01"}`,
		`{"available":"true"}`, `{"blob":"!!"}`, `{"score":"0x10"}`, `{"i64":"01"}`, `{"id":"a",}`,
	} {
		if err := new(shopv1.Product).UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("accepted %s", in)
		}
	}
}

// FuzzUnmarshalJSON checks that the decoder never panics, and that what it
// accepts survives a round trip through the encoder, read back both by the
// decoder and by protojson.
func FuzzUnmarshalJSON(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		f.Add(randomProduct(r).AppendJSON(nil))
	}
	f.Add([]byte(`{"price":{"units":"1"},"stock":{"a":1},"createTime":"2026-01-02T03:04:05Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := new(shopv1.Product)
		if err := m.UnmarshalJSON(data); err != nil {
			return
		}
		out := m.AppendJSON(nil)
		again := new(shopv1.Product)
		if err := again.UnmarshalJSON(out); err != nil {
			t.Fatalf("cannot read back %s (from %q): %v", out, data, err)
		}
		if !proto.Equal(m, again) {
			t.Fatalf("%q -> %v -> %s -> %v", data, m, out, again)
		}
		theirs := new(shopv1.Product)
		if err := protojson.Unmarshal(out, theirs); err != nil {
			t.Fatalf("protojson cannot read %s (from %q): %v", out, data, err)
		}
		if !proto.Equal(m, theirs) {
			t.Fatalf("protojson reads %s as %v, want %v", out, theirs, m)
		}
	})
}

// item mirrors itemsv1.Item as a hand-written HTTP API declares it for
// encoding/json, the baseline of the benchmarks.
type item struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Quantity  int64     `json:"quantity"`
	CreatedAt time.Time `json:"created_at"`
}

type page struct {
	Items []item `json:"items"`
	Next  string `json:"next,omitempty"`
}

type newItem struct {
	Name     string `json:"name"`
	Quantity int64  `json:"quantity"`
}

var (
	benchTime = time.Date(2026, 12, 6, 3, 4, 5, 123456789, time.UTC)
	benchItem = &itemsv1.Item{Id: "0123456789abcdef0123456789abcdef", Name: "widget", Quantity: 3, CreateTime: timestamppb.New(benchTime)}
	benchPage = func() *itemsv1.ListItemsResponse {
		p := &itemsv1.ListItemsResponse{NextPageToken: "0123456789abcdef0123456789abcdef"}
		for range 20 {
			p.Items = append(p.Items, benchItem)
		}
		return p
	}()
	benchCreate = []byte(`{"name":"widget","quantity":3}`)
)

func mirror(it *itemsv1.Item) item {
	return item{ID: it.GetId(), Name: it.GetName(), Quantity: it.GetQuantity(), CreatedAt: it.GetCreateTime().AsTime()}
}

func BenchmarkEncodeItem(b *testing.B) {
	b.Run("generated", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			buf = benchItem.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		v := mirror(benchItem)
		for b.Loop() {
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := protojson.Marshal(benchItem); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncodeList20(b *testing.B) {
	b.Run("generated", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf = benchPage.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		v := page{Next: benchPage.NextPageToken}
		for _, it := range benchPage.Items {
			v.Items = append(v.Items, mirror(it))
		}
		for b.Loop() {
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := protojson.Marshal(benchPage); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeItem(b *testing.B) {
	data := benchItem.AppendJSON(nil)
	b.Run("generated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m itemsv1.Item
			if err := m.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	mirrored, _ := json.Marshal(mirror(benchItem))
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v item
			if err := json.Unmarshal(mirrored, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m itemsv1.Item
			if err := protojson.Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeCreate(b *testing.B) {
	b.Run("generated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m itemsv1.CreateItemRequest
			if err := m.UnmarshalJSON(benchCreate); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v newItem
			if err := json.Unmarshal(benchCreate, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m itemsv1.CreateItemRequest
			if err := protojson.Unmarshal(benchCreate, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestOverride checks that Override replaces the generated handler on every
// route of the named method, leaves the others generated, and that a name
// with no HTTP binding panics instead of being ignored.
func TestOverride(t *testing.T) {
	fast := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "fast "+r.PathValue("id"))
	})
	mux := http.NewServeMux()
	shopv1.RegisterShopHTTP(mux, &shop{}, shopv1.ShopHTTPOptions{Override: map[string]http.Handler{"GetProduct": fast}})
	for _, target := range []string{"/v1/products/p1", "/v1/shelves/s1/products/p1"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		if got := rec.Body.String(); got != "fast p1" {
			t.Errorf("GET %s = %q, want the override's answer %q", target, got, "fast p1")
		}
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("DELETE", "/v1/products/p1", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "{}" {
		t.Errorf("DELETE /v1/products/p1 = %d %q, want the generated 200 {}", rec.Code, rec.Body.String())
	}

	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), `"Ping"`) {
			t.Errorf("Override of a method without an HTTP binding: recovered %v, want a panic naming \"Ping\"", r)
		}
	}()
	shopv1.RegisterShopHTTP(http.NewServeMux(), &shop{}, shopv1.ShopHTTPOptions{Override: map[string]http.Handler{"Ping": fast}})
}
