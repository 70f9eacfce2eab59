package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// GRPC records gRPC calls by full method name and status code. Method
// labels stay bounded: gRPC answers unknown methods before any interceptor
// runs, so only the registered methods ever appear.
type GRPC struct {
	handled  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
	// methods holds each method's series, looked up once: resolving three
	// label sets on every call (hashing the labels, locking the vectors)
	// cost more than the counting itself.
	methods sync.Map // full method name -> *methodSeries
}

// methodSeries are one method's series. handled is filled per code on the
// code's first call, so a method exports only the codes it has answered,
// as it would through the vector.
type methodSeries struct {
	method     string
	inFlight   prometheus.Gauge
	duration   prometheus.Observer
	handled    [codes.Unauthenticated + 1]atomic.Pointer[prometheus.Counter]
	handledVec *prometheus.CounterVec
}

// NewGRPC returns gRPC metrics registered on m's registry.
func (m *Metrics) NewGRPC() *GRPC {
	g := &GRPC{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "grpc_server_handled_total",
			Help:      "gRPC calls completed, by full method name and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "grpc_server_handling_seconds",
			Help:      "gRPC call latency by full method name; a stream counts until it ends.",
			Buckets:   LatencyBuckets,
		}, []string{"method"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "grpc_server_in_flight",
			Help:      "gRPC calls being served, by full method name.",
		}, []string{"method"}),
	}
	m.Registry.MustRegister(g.handled, g.duration, g.inFlight)
	return g
}

// StreamServerInterceptor records every streaming call.
func (g *GRPC) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		call := g.Start(info.FullMethod)
		err := handler(srv, ss)
		call.Done(err)
		return err
	}
}

// Call is a gRPC call being recorded, from Start to Done. It is a value, so
// recording a call allocates nothing.
type Call struct {
	series *methodSeries
	begin  time.Time
}

// Start counts a call of method in flight. The server's unary interceptor
// calls it directly, with Done, rather than through an interceptor of its
// own: a chained interceptor costs a closure and a call frame per call.
func (g *GRPC) Start(method string) Call {
	s, ok := g.methods.Load(method)
	if !ok {
		s, _ = g.methods.LoadOrStore(method, &methodSeries{
			method:     method,
			inFlight:   g.inFlight.WithLabelValues(method),
			duration:   g.duration.WithLabelValues(method),
			handledVec: g.handled,
		})
	}
	c := Call{series: s.(*methodSeries), begin: time.Now()}
	c.series.inFlight.Inc()
	return c
}

// Done records the end of c with the status code of err.
func (c Call) Done(err error) {
	c.series.inFlight.Dec()
	c.series.duration.Observe(time.Since(c.begin).Seconds())
	c.series.handledCounter(status.Code(err)).Inc()
}

// handledCounter returns the method's counter of calls answered with code.
func (s *methodSeries) handledCounter(code codes.Code) prometheus.Counter {
	if int(code) >= len(s.handled) { // a code newer than this list
		return s.handledVec.WithLabelValues(s.method, code.String())
	}
	if p := s.handled[code].Load(); p != nil {
		return *p
	}
	// Calls racing here get the same counter from the vector.
	counter := s.handledVec.WithLabelValues(s.method, code.String())
	s.handled[code].Store(&counter)
	return counter
}
