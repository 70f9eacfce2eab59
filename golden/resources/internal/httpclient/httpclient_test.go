package httpclient

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newServer(t *testing.T, h2c bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(h2c)
	srv.Config.Protocols = &p
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, c *http.Client, url string) (string, *http.Response) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body), resp
}

func TestH2CUsesHTTP2(t *testing.T) {
	srv := newServer(t, true)
	o := DefaultOptions()
	o.H2C = true
	proto, resp := get(t, New(o, nil), srv.URL)
	if resp.ProtoMajor != 2 || proto != "HTTP/2.0" {
		t.Fatalf("client saw %s, server saw %s; want HTTP/2.0 over cleartext", resp.Proto, proto)
	}
}

func TestDefaultSpeaksHTTP1ToPlainServers(t *testing.T) {
	srv := newServer(t, false)
	proto, resp := get(t, New(DefaultOptions(), nil), srv.URL)
	if resp.ProtoMajor != 1 || proto != "HTTP/1.1" {
		t.Fatalf("client saw %s, server saw %s; want HTTP/1.1", resp.Proto, proto)
	}
}

func TestTransportTuning(t *testing.T) {
	tr := NewTransport(DefaultOptions())
	if tr.MaxIdleConnsPerHost < 16 || tr.ResponseHeaderTimeout == 0 || tr.IdleConnTimeout == 0 {
		t.Fatalf("transport left at library defaults: %+v", tr)
	}
}

func TestMetricsCountCalls(t *testing.T) {
	srv := newServer(t, false)
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	c := New(DefaultOptions(), m)
	for range 3 {
		get(t, c, srv.URL)
	}
	want := `
# HELP http_client_requests_total Outbound HTTP requests by method and status code.
# TYPE http_client_requests_total counter
http_client_requests_total{code="200",method="get"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "http_client_requests_total"); err != nil {
		t.Fatal(err)
	}
}
