package tracing

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/grpc"
)

// GRPCServerOptions returns the gRPC server's tracing: otelgrpc's stats
// handler, which continues the traceparent of a call's metadata with a
// server span per call. Off, it returns none, and gRPC calls pay nothing.
func (t *Tracing) GRPCServerOptions() []grpc.ServerOption {
	if t == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(t.provider),
		otelgrpc.WithPropagators(t.prop),
		// The service's gRPC metrics are Prometheus's (internal/metrics).
		otelgrpc.WithMeterProvider(noop.NewMeterProvider()),
	))}
}
