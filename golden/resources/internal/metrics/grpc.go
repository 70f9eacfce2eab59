package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// GRPC records gRPC calls by full method name and status code. Method
// labels stay bounded: gRPC answers unknown methods before any interceptor
// runs, so only the registered methods ever appear.
type GRPC struct {
	handled  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
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

// UnaryServerInterceptor records every unary call.
func (g *GRPC) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		done := g.start(info.FullMethod)
		resp, err := handler(ctx, req)
		done(err)
		return resp, err
	}
}

// StreamServerInterceptor records every streaming call.
func (g *GRPC) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		done := g.start(info.FullMethod)
		err := handler(srv, ss)
		done(err)
		return err
	}
}

// start counts a call in flight and returns the function that records its
// outcome.
func (g *GRPC) start(method string) func(error) {
	begin := time.Now()
	inFlight := g.inFlight.WithLabelValues(method)
	inFlight.Inc()
	return func(err error) {
		inFlight.Dec()
		g.handled.WithLabelValues(method, status.Code(err).String()).Inc()
		g.duration.WithLabelValues(method).Observe(time.Since(begin).Seconds())
	}
}
