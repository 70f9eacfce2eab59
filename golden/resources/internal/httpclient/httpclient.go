// Package httpclient builds HTTP clients for calling other services.
//
// http.DefaultTransport is tuned for a browser-like client: two idle
// connections per host, no response-header deadline and generous timeouts.
// A service calling a few upstreams at a high rate needs the opposite: many
// reused connections per host, a bound on every phase of a request, HTTP/2
// where the upstream speaks it (or cleartext HTTP/2 inside the cluster), and
// metrics for every call.
package httpclient

import (
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options tune a Transport. DefaultOptions gives working values.
type Options struct {
	// DialTimeout bounds establishing a TCP connection.
	DialTimeout time.Duration
	// KeepAlive is the TCP keep-alive probe interval.
	KeepAlive time.Duration
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request is written; the body is bounded by the request's context.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes connections idle this long.
	IdleConnTimeout time.Duration
	// MaxIdleConns bounds idle connections over all hosts.
	MaxIdleConns int
	// MaxIdleConnsPerHost bounds idle connections per host; the default of
	// http.Transport, 2, forces a new connection for most concurrent calls.
	MaxIdleConnsPerHost int
	// MaxConnsPerHost bounds all connections per host; zero is unlimited.
	MaxConnsPerHost int
	// H2C speaks cleartext HTTP/2 with prior knowledge to http:// URLs (and
	// HTTP/2 over TLS to https:// ones), multiplexing all calls to a host
	// over few connections. Use it only for upstreams that serve h2c.
	H2C bool
	// Timeout bounds a whole call, body included; zero leaves it to the
	// request's context.
	Timeout time.Duration
}

// DefaultOptions returns options for calls between services in one data
// center: fail fast on dead hosts, keep plenty of connections warm.
func DefaultOptions() Options {
	return Options{
		DialTimeout:           2 * time.Second,
		KeepAlive:             30 * time.Second,
		TLSHandshakeTimeout:   3 * time.Second,
		ResponseHeaderTimeout: 5 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   64,
		Timeout:               10 * time.Second,
	}
}

// NewTransport returns an http.Transport configured by o.
func NewTransport(o Options) *http.Transport {
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: o.KeepAlive}
	var protocols http.Protocols
	protocols.SetHTTP2(true)
	if o.H2C {
		protocols.SetUnencryptedHTTP2(true)
	} else {
		protocols.SetHTTP1(true)
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   o.TLSHandshakeTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		IdleConnTimeout:       o.IdleConnTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          o.MaxIdleConns,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		MaxConnsPerHost:       o.MaxConnsPerHost,
		ForceAttemptHTTP2:     true,
		Protocols:             &protocols,
		HTTP2: &http.HTTP2Config{
			// Ping a connection idle this long and drop it if the ping is
			// not answered, so a silently dead peer is noticed.
			SendPingTimeout: 15 * time.Second,
			PingTimeout:     5 * time.Second,
		},
	}
}

// Metrics instruments outbound calls: count, latency and in-flight, by
// method and status code.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewMetrics registers the client metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "http_client", Name: "requests_total",
			Help: "Outbound HTTP requests by method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "http_client", Name: "request_duration_seconds",
			Help:    "Outbound HTTP request latency until response headers, by method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Subsystem: "http_client", Name: "requests_in_flight",
			Help: "Outbound HTTP requests waiting for response headers.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Instrument wraps next so every call is counted and timed.
func (m *Metrics) Instrument(next http.RoundTripper) http.RoundTripper {
	return promhttp.InstrumentRoundTripperInFlight(m.inFlight,
		promhttp.InstrumentRoundTripperCounter(m.requests,
			promhttp.InstrumentRoundTripperDuration(m.duration, next)))
}

// New returns a client over a Transport configured by o, instrumented with
// m when m is not nil.
func New(o Options, m *Metrics) *http.Client {
	var rt http.RoundTripper = NewTransport(o)
	if m != nil {
		rt = m.Instrument(rt)
	}
	return &http.Client{Transport: rt, Timeout: o.Timeout}
}
