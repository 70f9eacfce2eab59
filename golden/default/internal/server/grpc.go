package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"example.com/demo/internal/limiter"
	"example.com/demo/internal/metrics"
	"example.com/demo/internal/reqlog"
)

// Keepalive settings of the gRPC server. The server pings a connection
// idle for keepaliveTime and closes it when the ping is not answered within
// keepaliveTimeout, so dead peers (a vanished load balancer, a half-open
// TCP connection) do not hold streams forever. A live connection with no
// call in progress for the configured IdleTimeout is sent GOAWAY and
// closed, as an idle HTTP keep-alive is, which frees its slot of the
// connection budget; the client reconnects when it next calls.
const (
	keepaliveTime    = 30 * time.Second
	keepaliveTimeout = 5 * time.Second
	// keepaliveMinPingInterval is how often a client may ping: one that pings
	// more often is sent GOAWAY (too_many_pings), which stops a
	// misconfigured client from flooding the server with pings.
	keepaliveMinPingInterval = 10 * time.Second
)

// readinessInterval is how often the gRPC health status is refreshed from
// the service's readiness check.
const readinessInterval = 5 * time.Second

// streamWorkers is how many goroutines the gRPC server keeps to run calls.
// Without them grpc-go starts a goroutine per call, whose stack starts
// small and is grown, by copying, twice during every call: with the
// cached GetItem that copying was a quarter of the server's CPU. A worker's
// stack stays grown between calls. When every worker is busy, a call gets
// a goroutine of its own as before, so this is not a limit on concurrency.
// Idle workers cost their stacks (8 KiB each once grown; the garbage
// collector shrinks those that stay idle). More workers are not better:
// 256 cost more CPU per call than 64, likely because idle workers wait for
// calls first in, first out, so with too many each one idles long enough
// for its stack to be shrunk, and the next call grows it again.
const streamWorkers = 64

// newGRPCServer configures the gRPC server: message and stream limits,
// keepalive, stream workers, one interceptor for request ids, metrics,
// panic recovery and load shedding, the resources' services, the standard
// health service and, if enabled, reflection. It returns the names of the
// resources' services, which the health service reports on.
//
// No interceptor puts a deadline on calls: resources bound their store
// calls, where calls block, as they do for HTTP, and a client's own
// deadline reaches the handler through its context.
func (s *Server) newGRPCServer() (*grpc.Server, *health.Server, []string) {
	m := s.metrics.NewGRPC()
	// Metrics come first so they see the code of a recovered panic and of
	// a shed call.
	stream := []grpc.StreamServerInterceptor{m.StreamServerInterceptor(), s.recoverStream, s.shedStream}
	if s.requestIDs != reqlog.IDsOff {
		// Before everything that logs, so the panic and shedding lines
		// carry the id too. Off, calls do not pass through it at all.
		stream = append([]grpc.StreamServerInterceptor{s.requestIDStream}, stream...)
	}
	// Tracing's stats handler, when tracing is on, sees every call first.
	srv := grpc.NewServer(append(s.tracing.GRPCServerOptions(),
		grpc.MaxRecvMsgSize(s.cfg.GRPCMaxMsgBytes),
		grpc.MaxSendMsgSize(s.cfg.GRPCMaxMsgBytes),
		grpc.MaxConcurrentStreams(uint32(s.cfg.GRPCMaxConcurrentStreams)), // #nosec G115 -- config.Validate keeps it in 1..MaxUint32
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: s.cfg.IdleTimeout,
			Time:              keepaliveTime,
			Timeout:           keepaliveTimeout,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime: keepaliveMinPingInterval,
			// Clients may keep idle connections warm between bursts.
			PermitWithoutStream: true,
		}),
		grpc.NumStreamWorkers(streamWorkers),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor(m)),
		grpc.ChainStreamInterceptor(stream...),
		// Empty unless WithUnaryInterceptors added some, as the load-test
		// build does.
		grpc.ChainUnaryInterceptor(s.interceptors...),
	)...)
	for _, r := range s.resources {
		if r.RegisterGRPC != nil {
			r.RegisterGRPC(srv)
		}
	}
	// Read before health and reflection register: these are the
	// resources' services alone.
	services := slices.Sorted(maps.Keys(srv.GetServiceInfo()))
	hs := health.NewServer()
	// Until Serve starts, nothing is served yet.
	for _, name := range append([]string{""}, services...) {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	healthpb.RegisterHealthServer(srv, hs)
	if s.cfg.GRPCReflection {
		reflection.Register(srv)
	}
	return srv, hs, services
}

// unaryInterceptor returns the one interceptor of unary calls. In this
// order, it gives a call its request id, as WithRequestIDs says (before
// everything that logs, so the panic and shedding lines carry the id too),
// records it in m (first, so the metrics see the code of a recovered panic
// and of a shed call), recovers a panicking handler and applies the
// shedding limiter. It does all four in one function because a chain of
// interceptors costs a closure and a call frame per interceptor per call.
func (s *Server) unaryInterceptor(m *metrics.GRPC) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		if s.requestIDs != reqlog.IDsOff {
			var header metadata.MD
			if ctx, header = s.grpcRequestID(ctx); header != nil {
				// Fails only once headers were sent, which no handler has done yet.
				_ = grpc.SetHeader(ctx, header)
			}
		}
		call := m.Start(info.FullMethod)
		defer func() {
			// A panicking handler is answered with codes.Internal and the
			// server keeps serving; without this, one panic would crash the
			// process and every call in flight with it.
			if v := recover(); v != nil {
				resp, err = nil, s.panicked(ctx, info.FullMethod, v)
			}
			call.Done(err)
		}()
		if s.limiter == nil || neverShed(info.FullMethod) {
			return handler(ctx, req)
		}
		return s.shedUnary(ctx, req, handler)
	}
}

// requestIDStream gives a streaming call its request id, as
// unaryInterceptor does for unary calls.
func (s *Server) requestIDStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, header := s.grpcRequestID(ss.Context())
	if header == nil {
		return handler(srv, ss)
	}
	_ = ss.SetHeader(header)
	return handler(srv, &idStream{ServerStream: ss, ctx: ctx})
}

// grpcRequestID returns the context of a call with its request id
// (requestID, from the x-request-id it came with) and the response header
// metadata that returns the id. A call that gets none is left as it is,
// with a nil header: accepting ids costs the calls that come without one
// only the metadata lookup.
func (s *Server) grpcRequestID(ctx context.Context) (context.Context, metadata.MD) {
	var id string
	// ValueFromIncomingContext copies only the key's values, where
	// FromIncomingContext would copy the whole metadata.
	if v := metadata.ValueFromIncomingContext(ctx, reqlog.MetadataKey); len(v) > 0 {
		id = v[0]
	}
	ctx, echo := s.requestID(ctx, id, trace.SpanContextFromContext(ctx))
	if echo == nil {
		return ctx, nil
	}
	return ctx, metadata.MD{reqlog.MetadataKey: echo}
}

// idStream is a server stream whose context carries the call's request id.
type idStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *idStream) Context() context.Context { return s.ctx }

// recoverStream answers a panicking stream handler with codes.Internal and
// keeps the server serving, as unaryInterceptor does for unary calls.
func (s *Server) recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = s.panicked(ss.Context(), info.FullMethod, v)
		}
	}()
	return handler(srv, ss)
}

func (s *Server) panicked(ctx context.Context, method string, v any) error {
	s.metrics.PanicRecovered()
	s.log.ErrorContext(ctx, "grpc handler panicked", "method", method, "panic", fmt.Sprint(v))
	return status.Error(codes.Internal, "internal error")
}

// shedUnary applies the concurrency limiter, shared with HTTP, to a unary
// call: past the limit the call is refused at once with RESOURCE_EXHAUSTED,
// and each admitted call's latency and outcome adjust the limit.
func (s *Server) shedUnary(ctx context.Context, req any, handler grpc.UnaryHandler) (any, error) {
	tok, ok := s.limiter.Acquire()
	if !ok {
		return nil, s.overloaded(ctx)
	}
	outcome := limiter.Ignore // kept if the handler panics
	defer func() { tok.Release(outcome) }()
	resp, err := handler(ctx, req)
	outcome = grpcOutcome(status.Code(err), ctx.Err())
	return resp, err
}

// grpcOutcome judges a completed unary call as the HTTP middleware judges
// a request: DEADLINE_EXCEEDED (a store call or the client's deadline ran
// out) and UNAVAILABLE (a dependency refused the work) signal overload; a
// call its client cancelled says nothing about load; anything else is
// judged by its latency.
func grpcOutcome(code codes.Code, ctxErr error) limiter.Outcome {
	switch {
	case code == codes.DeadlineExceeded || code == codes.Unavailable || errors.Is(ctxErr, context.DeadlineExceeded):
		return limiter.Overload
	case ctxErr != nil:
		return limiter.Ignore
	default:
		return limiter.Success
	}
}

// shedStream is shedUnary for streams. A stream holds its slot while it is
// open, but its length is the client's choice, so only a missed deadline
// feeds back into the limit.
func (s *Server) shedStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if s.limiter == nil || neverShed(info.FullMethod) {
		return handler(srv, ss)
	}
	tok, ok := s.limiter.Acquire()
	if !ok {
		return s.overloaded(ss.Context())
	}
	outcome := limiter.Ignore
	defer func() { tok.Release(outcome) }()
	err := handler(srv, ss)
	if errors.Is(ss.Context().Err(), context.DeadlineExceeded) {
		outcome = limiter.Overload
	}
	return err
}

// neverShed reports whether method is one a busy server must still answer:
// health checks (or a busy instance looks dead and is restarted) and
// reflection.
func neverShed(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") || strings.HasPrefix(method, "/grpc.reflection.")
}

// overloaded is the answer to a shed call. The grpc-retry-pushback-ms
// trailer tells clients with a retry policy how long to wait, as
// Retry-After does for HTTP.
func (s *Server) overloaded(ctx context.Context) error {
	if secs, err := strconv.Atoi(s.limiter.RetryAfter()); err == nil {
		_ = grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", strconv.Itoa(secs*1000)))
	}
	return status.Error(codes.ResourceExhausted, "server overloaded; retry later")
}

// watchReadiness keeps the gRPC health status in step with the service's
// readiness (the store answering) until ctx ends. Shutdown then sets
// NOT_SERVING for good.
func (s *Server) watchReadiness(ctx context.Context) {
	ticker := time.NewTicker(readinessInterval)
	defer ticker.Stop()
	last := healthpb.HealthCheckResponse_NOT_SERVING
	for {
		st := healthpb.HealthCheckResponse_SERVING
		checkCtx, cancel := context.WithTimeout(ctx, time.Second)
		err := s.resourcesReady(checkCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
			if last == healthpb.HealthCheckResponse_SERVING {
				s.log.Warn("grpc health: not serving", "err", err)
			}
		}
		last = st
		s.health.SetServingStatus("", st)
		for _, name := range s.services {
			s.health.SetServingStatus(name, st)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// stopGRPC stops accepting calls and waits for those in flight to finish;
// when ctx ends first, it closes every connection, failing what remains.
func (s *Server) stopGRPC(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		// Stop closes every connection at once, so clients get their
		// error and handlers their canceled context. It then waits, behind
		// GracefulStop, for handlers that ignore the cancellation; the
		// process is about to exit, so shutdown does not wait with it.
		go s.grpc.Stop()
		return fmt.Errorf("grpc server: %w", ctx.Err())
	}
}
