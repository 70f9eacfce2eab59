// Package server runs the service's listeners:
//   - the public HTTP port: HTTP/1.1 and cleartext HTTP/2 on one listener;
//   - the gRPC port: the resources' services, the standard health service
//     and reflection;
//   - the admin port: metrics, pprof and health.
//
// The server knows no resource: each registers its routes, its gRPC
// services and its readiness check as a resource.Resource.
// On shutdown it drains in-flight requests within a deadline.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"example.com/demo/internal/config"
	"example.com/demo/internal/connlimit"
	"example.com/demo/internal/limiter"
	"example.com/demo/internal/metrics"
	"example.com/demo/internal/reqlog"
	"example.com/demo/internal/resource"
	"example.com/demo/internal/tracing"
)

// Server owns the service's listeners.
type Server struct {
	cfg       config.Config
	log       *slog.Logger
	resources []resource.Resource
	metrics   *metrics.Metrics
	limiter   *limiter.Limiter
	// middleware wraps the public mux, innermost first (WithMiddleware).
	middleware []func(http.Handler) http.Handler
	// conns is the public ports' connection budget (WithConnBudget).
	conns *connlimit.Budget
	// interceptors run after the built-in ones (WithUnaryInterceptors).
	interceptors []grpc.UnaryServerInterceptor
	// tracing traces requests (WithTracing).
	tracing *tracing.Tracing
	// requestIDs makes requests' log lines request-scoped
	// (WithRequestIDs).
	requestIDs reqlog.IDs
	// accessLog logs sampled HTTP requests (WithAccessLog).
	accessLog *reqlog.AccessLog
	// adminRoutes are the admin port's handlers beyond its own.
	adminRoutes []adminRoute
	ready       atomic.Bool

	admin    *http.Server
	adminLn  net.Listener
	public   *http.Server
	publicLn net.Listener
	// deadlines enforces the public connections' timeouts (deadline.go).
	deadlines *deadlines
	grpc      *grpc.Server
	grpcLn    net.Listener
	health    *health.Server
	services  []string
}

// An Option adds an optional component to a Server.
type Option func(*Server)

// WithLimiter sheds public requests past l's adaptive concurrency limit.
// The admin port and the health probes are never shed: a busy instance must
// still be seen alive.
func WithLimiter(l *limiter.Limiter) Option {
	return func(s *Server) { s.limiter = l }
}

// WithAdminRoute serves h on the admin port at pattern, beside metrics,
// pprof and health.
func WithAdminRoute(pattern string, h http.Handler) Option {
	return func(s *Server) { s.adminRoutes = append(s.adminRoutes, adminRoute{pattern, h}) }
}

// adminRoute is one handler added to the admin port.
type adminRoute struct {
	pattern string
	handler http.Handler
}

// WithConnBudget keeps the public ports' open connections, HTTP and gRPC
// together, within b. The admin port stays outside it, so probes
// answer during a flood.
func WithConnBudget(b *connlimit.Budget) Option {
	return func(s *Server) { s.conns = b }
}

// WithMiddleware wraps the public mux in mw, inside the metrics, shedding
// and panic recovery, so what it adds is measured like the handlers. The
// load-test build uses it to slow every request down.
func WithMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(s *Server) { s.middleware = append(s.middleware, mw) }
}

// connState is the public server's ConnState hook: the connection
// budget's, which needs to know the idle connections.
func (s *Server) connState() func(net.Conn, http.ConnState) {
	if s.conns == nil {
		return nil
	}
	return s.conns.ConnState
}

// WithUnaryInterceptors adds interceptors after the built-in ones, so
// metrics, panic recovery and shedding see what they do.
func WithUnaryInterceptors(is ...grpc.UnaryServerInterceptor) Option {
	return func(s *Server) { s.interceptors = append(s.interceptors, is...) }
}

// New returns a Server for resources; call Listen, then Serve.
func New(cfg config.Config, log *slog.Logger, m *metrics.Metrics, resources []resource.Resource, opts ...Option) *Server {
	s := &Server{cfg: cfg, log: log, resources: resources, metrics: m}
	for _, o := range opts {
		o(s)
	}
	s.admin = &http.Server{
		Handler:           s.adminHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	s.public = s.newPublicServer()
	s.grpc, s.health, s.services = s.newGRPCServer()
	return s
}

// newPublicServer configures the public port: HTTP/1.1 and cleartext HTTP/2
// (prior knowledge) on one listener, with timeouts against slow clients and
// limits on header size, body size and concurrent streams.
func (s *Server) newPublicServer() *http.Server {
	mux := http.NewServeMux()
	for _, r := range s.resources {
		if r.RegisterHTTP != nil {
			r.RegisterHTTP(mux)
		}
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	var handler http.Handler = mux
	for _, mw := range s.middleware {
		handler = mw(handler)
	}

	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		// Metrics are outermost but for observe (observe.go), so they
		// count every request, shed ones as 503s. They read the route
		// pattern the mux records on the request after it returns, so no
		// middleware in between may replace the request (r.WithContext):
		// the pattern would land on the copy. observe, outside, replaces it
		// once, before the metrics see it.
		// Shedding sits inside the metrics and reads the status their
		// writer records, so a request that timed out in the store (504)
		// counts as overload without a second wrapped writer.
		// There is no per-request deadline here: resources bound their
		// store calls, where requests block, and a cache hit pays for no
		// timer. The connection timeouts below are set by net/http on
		// every request; the listener Listen wraps turns each into a store
		// that one sweeper enforces within a tick (deadline.go).
		Handler:           s.observe(s.metrics.Instrument(s.shed(mux, s.recoverPanics(handler)))),
		Protocols:         &protocols,
		ConnState:         s.connState(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams: s.cfg.MaxConcurrentStreams,
			// Flow-control windows: 1 MiB per stream, 2 MiB per connection,
			// so one slow stream cannot starve the others.
			MaxReceiveBufferPerStream:     1 << 20,
			MaxReceiveBufferPerConnection: 2 << 20,
			MaxDecoderHeaderTableSize:     4 << 10,
			MaxEncoderHeaderTableSize:     4 << 10,
			MaxReadFrameSize:              1 << 20,
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// shed applies the concurrency limiter, if any, to everything but the
// health probes. A shed request is matched against routes, so the metrics
// count it under its route.
func (s *Server) shed(routes *http.ServeMux, next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	limited := s.limiter.RoutedMiddleware(routes, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		limited.ServeHTTP(w, r)
	})
}

// recoverPanics answers a panicking handler with 500 and keeps the server
// serving. http.ErrAbortHandler is re-raised: it asks net/http to drop the
// connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.metrics.PanicRecovered()
			s.log.ErrorContext(r.Context(), "handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}

// adminHandler serves metrics, pprof and health. It is never the public
// handler, and it uses its own mux, not http.DefaultServeMux.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	for _, r := range s.adminRoutes {
		mux.Handle(r.pattern, r.handler)
	}
	return mux
}

// healthz reports that the process is alive; it never checks dependencies,
// so a database outage does not get the process restarted.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz reports whether the service should receive traffic: it is not
// shutting down and every resource is ready.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.ready.Load() {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: shutting down\n"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := s.resourcesReady(ctx); err != nil {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// resourcesReady reports the first resource that is not ready.
func (s *Server) resourcesReady(ctx context.Context) error {
	for _, r := range s.resources {
		if r.Ready == nil {
			continue
		}
		if err := r.Ready(ctx); err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
	}
	return nil
}

// Listen binds every listener, so a port conflict is reported before
// anything is served.
func (s *Server) Listen() error {
	var lc net.ListenConfig
	ctx := context.Background()
	var err error
	if s.adminLn, err = lc.Listen(ctx, "tcp", s.cfg.AdminAddr); err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	if s.publicLn, err = lc.Listen(ctx, "tcp", s.cfg.HTTPAddr); err != nil {
		_ = s.adminLn.Close()
		return fmt.Errorf("http listener: %w", err)
	}
	// Inside the budget's wrapper: its ConnState hook needs to find its own
	// connections.
	s.deadlines = newDeadlines(deadlineTick(s.cfg.ReadHeaderTimeout, s.cfg.ReadTimeout, s.cfg.WriteTimeout, s.cfg.IdleTimeout))
	s.publicLn = s.deadlines.listener(s.publicLn)
	if s.conns != nil {
		s.publicLn = s.conns.Listener(s.publicLn)
	}
	if s.grpcLn, err = lc.Listen(ctx, "tcp", s.cfg.GRPCAddr); err != nil {
		_ = s.adminLn.Close()
		_ = s.publicLn.Close()
		return fmt.Errorf("grpc listener: %w", err)
	}
	if s.conns != nil {
		// gRPC connections never report idle to the budget: past the
		// cap, new ones are refused until one closes (an idle HTTP
		// keep-alive may still make room for one). A gRPC connection with
		// no call for IdleTimeout is closed (MaxConnectionIdle), so idle
		// clients do not hold their slots for good.
		s.grpcLn = s.conns.Listener(s.grpcLn)
	}
	return nil
}

// AdminAddr returns the admin listener's address; call it after Listen.
func (s *Server) AdminAddr() string { return s.adminLn.Addr().String() }

// PublicHandler returns the public HTTP port's handler, middleware
// included, as the port serves it: benchmarks measure a request's whole
// server-side path through it without a network.
func (s *Server) PublicHandler() http.Handler { return s.public.Handler }

// HTTPAddr returns the public HTTP listener's address; call it after Listen.
func (s *Server) HTTPAddr() string { return s.publicLn.Addr().String() }

// GRPCAddr returns the gRPC listener's address; call it after Listen.
func (s *Server) GRPCAddr() string { return s.grpcLn.Addr().String() }

// Serve serves until ctx is done, then shuts down gracefully: it reports
// not-ready, waits ShutdownDelay so load balancers notice, stops accepting,
// and lets in-flight requests finish within ShutdownTimeout before closing
// what remains. It returns the first serving error, if any.
func (s *Server) Serve(ctx context.Context) error {
	// Ready before the first "listening" line: the listeners are bound, and
	// a probe that reads that line must not find the service shutting down.
	s.ready.Store(true)
	errc := make(chan error, 3)
	serve := func(name string, srv *http.Server, ln net.Listener) {
		s.log.Info("listening", "server", name, "addr", ln.Addr().String())
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("%s server: %w", name, err)
		}
	}
	go serve("admin", s.admin, s.adminLn)
	// The public connections' timeouts hold until the public server has
	// drained, so they bound the connections shutdown waits for too.
	stopDeadlines, deadlinesStopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(deadlinesStopped)
		s.deadlines.run(stopDeadlines)
	}()
	defer func() {
		close(stopDeadlines)
		<-deadlinesStopped
	}()
	go serve("http", s.public, s.publicLn)
	go func() {
		s.log.Info("listening", "server", "grpc", "addr", s.grpcLn.Addr().String())
		if err := s.grpc.Serve(s.grpcLn); err != nil {
			errc <- fmt.Errorf("grpc server: %w", err)
		}
	}()
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	go s.watchReadiness(watchCtx)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.ready.Store(false)
	stopWatching()
	// Every service reports NOT_SERVING from here on, through the delay.
	s.health.Shutdown()
	s.log.Info("shutting down", "delay", s.cfg.ShutdownDelay.String(), "timeout", s.cfg.ShutdownTimeout.String())
	if serveErr == nil && s.cfg.ShutdownDelay > 0 {
		time.Sleep(s.cfg.ShutdownDelay)
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	errs := make([]error, 0, 3) // public, gRPC and admin servers at most
	// gRPC drains alongside HTTP, within the same deadline.
	grpcStopped := make(chan error, 1)
	go func() { grpcStopped <- s.stopGRPC(drainCtx) }()
	errs = append(errs, shutdown(drainCtx, s.public))
	errs = append(errs, <-grpcStopped)
	errs = append(errs, shutdown(drainCtx, s.admin))
	if err := errors.Join(errs...); err != nil {
		s.log.Warn("shutdown deadline passed; closed remaining connections", "err", err)
	}
	s.log.Info("stopped")
	return serveErr
}

// shutdown drains srv until ctx ends, then closes it.
func shutdown(ctx context.Context, srv *http.Server) error {
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		return err
	}
	return nil
}
