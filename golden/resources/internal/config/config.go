// Package config loads the service's configuration from command-line flags
// and SHOP_* environment variables. A flag wins over its variable;
// every value is checked before the service starts.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strconv"
	"time"

	"example.com/shop/internal/store/postgres"
)

// EnvPrefix prefixes every environment variable the service reads.
const EnvPrefix = "SHOP_"

// Config is the service's complete configuration.
type Config struct {
	// HTTPAddr is the public HTTP/1.1 and h2c listen address.
	HTTPAddr string
	// GRPCAddr is the public gRPC listen address.
	GRPCAddr string
	// AdminAddr serves /metrics, /debug/pprof, /healthz and /readyz. It
	// binds to loopback by default; containers set it to ":9100".
	AdminAddr string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// after SIGTERM before the servers are closed.
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long the service reports not-ready before it
	// stops accepting, so load balancers stop routing to it first.
	ShutdownDelay time.Duration
	// BlockProfileRate samples one blocking event per this many nanoseconds
	// spent blocked, for /debug/pprof/block; MutexProfileFraction one in
	// this many contended mutex events, for /debug/pprof/mutex. Zero turns
	// either off. The block profile is off by default: over HTTP/2 every
	// stream's handler and every connection's serve loop wait on channels,
	// so a busy server would record a stack for nearly every request.
	BlockProfileRate, MutexProfileFraction int
	// FlightRecorder keeps at least this much of the recent execution trace
	// in memory, for /debug/flightrecorder on the admin port; zero turns it
	// off.
	FlightRecorder time.Duration
	// StoreTimeout bounds the store calls of one request, where a request
	// blocks; past it the request fails as timed out. Requests that never
	// reach the store (cache hits) pay nothing for it, and a client's
	// sooner deadline still wins.
	StoreTimeout time.Duration
	// IdleTimeout is how long a connection may stay idle before the server
	// closes it, which frees its slot of the connection budget.
	// An HTTP keep-alive connection is idle between requests.
	// A gRPC connection is idle with no call in progress; its client
	// reconnects when it next calls.
	IdleTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers (slowloris).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response.
	WriteTimeout time.Duration
	// MaxHeaderBytes bounds a request's header size.
	MaxHeaderBytes int
	// MaxBodyBytes bounds a request's body size.
	MaxBodyBytes int64
	// MaxConcurrentStreams bounds concurrent HTTP/2 streams per connection.
	MaxConcurrentStreams int
	// GRPCMaxMsgBytes bounds one gRPC message, received or sent. A larger
	// request fails with RESOURCE_EXHAUSTED before a handler runs.
	GRPCMaxMsgBytes int
	// GRPCMaxConcurrentStreams bounds concurrent gRPC calls per connection.
	GRPCMaxConcurrentStreams int
	// GRPCReflection registers the reflection service, so grpcurl and
	// similar tools can list and call methods without the .proto.
	GRPCReflection bool
	// MaxConcurrency is the ceiling of the adaptive concurrency limit: the
	// most requests served at once before new ones are shed. The default is
	// the SLO's rate times its P95 latency (Little's law).
	MaxConcurrency int
	// MaxConns caps the public ports' open connections, HTTP and gRPC
	// together; 0 derives the cap from the file limit, less a
	// reserve (internal/connlimit).
	MaxConns int
	// ShedLatency is the latency that never counts as queueing: the
	// concurrency limit falls only when recent latency is above it and
	// above twice the no-load latency. The default is the SLO's P95.
	ShedLatency time.Duration
	// BatchWorkers bounds the concurrent lookups of one batch get.
	BatchWorkers int
	// CacheEntries bounds the items cache by entries.
	CacheEntries int
	// CacheMaxBytes bounds the items cache by encoded size.
	CacheMaxBytes int64
	// CacheTTL is how long a cached item is served before it is reloaded.
	CacheTTL time.Duration
	// Upstreams lists the base URLs of the upstream instances the example
	// outbound call is balanced over, comma separated, each optionally
	// followed by =WEIGHT. Empty turns the outbound call off.
	Upstreams string
	// UpstreamPolicy picks upstream endpoints: round-robin, weighted,
	// least-connections or p2c.
	UpstreamPolicy string
	// Observability configures tracing, request ids and the access log
	// (observability.go).
	Observability Observability
	// Database is the Postgres connection string and pool settings.
	Database postgres.Config
	// MigrateOnStart applies pending schema migrations before serving. Turn
	// it off when migrations run as their own deployment step
	// (`shop migrate up`).
	MigrateOnStart bool
	// MigrateWait bounds how long migrations on start wait for the
	// database: the service serves (not ready) meanwhile, retrying with
	// jittered backoff, and exits with the last error past it.
	MigrateWait time.Duration
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		HTTPAddr:                 ":8080",
		GRPCAddr:                 ":9090",
		AdminAddr:                "127.0.0.1:9100",
		LogLevel:                 slog.LevelInfo,
		ShutdownTimeout:          15 * time.Second,
		ShutdownDelay:            0,
		StoreTimeout:             10 * time.Second,
		IdleTimeout:              120 * time.Second,
		BlockProfileRate:         0,
		MutexProfileFraction:     10,
		ReadHeaderTimeout:        5 * time.Second,
		ReadTimeout:              15 * time.Second,
		WriteTimeout:             15 * time.Second,
		MaxHeaderBytes:           64 << 10,
		MaxBodyBytes:             1 << 20,
		MaxConcurrentStreams:     1000,
		GRPCMaxMsgBytes:          4 << 20,
		GRPCMaxConcurrentStreams: 1000,
		GRPCReflection:           true,
		MaxConcurrency:           1000,
		ShedLatency:              100 * time.Millisecond,
		BatchWorkers:             8,
		CacheEntries:             100_000,
		CacheMaxBytes:            64 << 20,
		CacheTTL:                 time.Minute,
		UpstreamPolicy:           "p2c",
		Observability:            defaultObservability(),
		Database:                 postgres.DefaultConfig(),
		MigrateOnStart:           true,
		MigrateWait:              2 * time.Minute,
	}
}

// Load parses args over the environment that lookup reads (os.LookupEnv in
// production) and validates the result. Usage and errors go to output.
func Load(args []string, lookup func(string) (string, bool), output io.Writer) (Config, error) {
	cfg := Default()
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(output)
	env := func(name string) string {
		v, _ := lookup(EnvPrefix + name)
		return v
	}
	var errs []error
	str := func(p *string, name, envName, usage string) {
		if v := env(envName); v != "" {
			*p = v
		}
		fs.StringVar(p, name, *p, usage+" (env "+EnvPrefix+envName+")")
	}
	dur := func(p *time.Duration, name, envName, usage string) {
		if v := env(envName); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s=%q: not a duration such as 15s", EnvPrefix, envName, v))
			}
			*p = d
		}
		fs.DurationVar(p, name, *p, usage+" (env "+EnvPrefix+envName+")")
	}
	integer := func(p *int64, name, envName, usage string) {
		if v := env(envName); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s=%q: not an integer", EnvPrefix, envName, v))
			}
			*p = n
		}
		fs.Int64Var(p, name, *p, usage+" (env "+EnvPrefix+envName+")")
	}
	boolean := func(p *bool, name, envName, usage string) {
		if v := env(envName); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s%s=%q: not a boolean such as true or false", EnvPrefix, envName, v))
			}
			*p = b
		}
		fs.BoolVar(p, name, *p, usage+" (env "+EnvPrefix+envName+")")
	}
	level := cfg.LogLevel.String()
	str(&cfg.HTTPAddr, "http-addr", "HTTP_ADDR", "public HTTP/1.1 and h2c listen address")
	str(&cfg.GRPCAddr, "grpc-addr", "GRPC_ADDR", "public gRPC listen address")
	str(&cfg.AdminAddr, "admin-addr", "ADMIN_ADDR", "admin listen address for metrics, pprof and health")
	str(&level, "log-level", "LOG_LEVEL", "minimum log level: debug, info, warn or error")
	dur(&cfg.ShutdownTimeout, "shutdown-timeout", "SHUTDOWN_TIMEOUT", "how long in-flight requests may finish after SIGTERM")
	dur(&cfg.ShutdownDelay, "shutdown-delay", "SHUTDOWN_DELAY", "how long to report not-ready before draining")
	dur(&cfg.StoreTimeout, "store-timeout", "STORE_TIMEOUT", "longest a request's store calls may take before the request fails")
	dur(&cfg.IdleTimeout, "idle-timeout", "IDLE_TIMEOUT", "how long an idle connection (for gRPC: one with no call in progress) stays open")
	blockRate, mutexFraction := int64(cfg.BlockProfileRate), int64(cfg.MutexProfileFraction)
	integer(&blockRate, "block-profile-rate", "BLOCK_PROFILE_RATE", "sample one blocking event per this many nanoseconds blocked (/debug/pprof/block); 0 turns it off")
	integer(&mutexFraction, "mutex-profile-fraction", "MUTEX_PROFILE_FRACTION", "sample one in this many contended mutex events (/debug/pprof/mutex); 0 turns it off")
	dur(&cfg.FlightRecorder, "flight-recorder", "FLIGHT_RECORDER", "keep this much recent execution trace in memory for /debug/flightrecorder; 0 turns it off")
	dur(&cfg.ReadHeaderTimeout, "read-header-timeout", "READ_HEADER_TIMEOUT", "time allowed to read request headers")
	dur(&cfg.ReadTimeout, "read-timeout", "READ_TIMEOUT", "time allowed to read a whole request")
	dur(&cfg.WriteTimeout, "write-timeout", "WRITE_TIMEOUT", "time allowed to write a response")
	maxHeader := int64(cfg.MaxHeaderBytes)
	integer(&maxHeader, "max-header-bytes", "MAX_HEADER_BYTES", "largest request header accepted, in bytes")
	integer(&cfg.MaxBodyBytes, "max-body-bytes", "MAX_BODY_BYTES", "largest request body accepted, in bytes")
	streams := int64(cfg.MaxConcurrentStreams)
	integer(&streams, "max-concurrent-streams", "MAX_CONCURRENT_STREAMS", "concurrent HTTP/2 streams per connection")
	grpcMsg := int64(cfg.GRPCMaxMsgBytes)
	integer(&grpcMsg, "grpc-max-msg-bytes", "GRPC_MAX_MSG_BYTES", "largest gRPC message received or sent, in bytes")
	grpcStreams := int64(cfg.GRPCMaxConcurrentStreams)
	integer(&grpcStreams, "grpc-max-concurrent-streams", "GRPC_MAX_CONCURRENT_STREAMS", "concurrent gRPC calls per connection")
	boolean(&cfg.GRPCReflection, "grpc-reflection", "GRPC_REFLECTION", "serve gRPC reflection for grpcurl and similar tools")
	maxConcurrency := int64(cfg.MaxConcurrency)
	integer(&maxConcurrency, "max-concurrency", "MAX_CONCURRENCY", "most requests served at once; the adaptive limit stays below it")
	publicConns := int64(cfg.MaxConns)
	integer(&publicConns, "max-conns", "MAX_CONNS", "most open connections on the public HTTP and gRPC ports together, past which idle keep-alives are closed and then new connections refused (0: the file limit less a reserve)")
	dur(&cfg.ShedLatency, "shed-latency", "SHED_LATENCY", "request latency under which the concurrency limit is never lowered (above it, only latency twice the no-load latency lowers it)")
	batchWorkers := int64(cfg.BatchWorkers)
	integer(&batchWorkers, "batch-workers", "BATCH_WORKERS", "concurrent lookups of one batch get")
	cacheEntries := int64(cfg.CacheEntries)
	integer(&cacheEntries, "cache-entries", "CACHE_ENTRIES", "most items kept in the cache")
	integer(&cfg.CacheMaxBytes, "cache-max-bytes", "CACHE_MAX_BYTES", "most bytes of encoded items kept in the cache")
	dur(&cfg.CacheTTL, "cache-ttl", "CACHE_TTL", "how long a cached item is served before it is reloaded")
	str(&cfg.Upstreams, "upstreams", "UPSTREAMS", "upstream base URLs for the example outbound call, comma separated, each optionally =WEIGHT; empty turns it off")
	str(&cfg.UpstreamPolicy, "upstream-policy", "UPSTREAM_POLICY", "upstream balancing: round-robin, weighted, least-connections or p2c")
	// The URL carries the password, so it is never a flag default: -h
	// would print it.
	var databaseURL string
	fs.StringVar(&databaseURL, "database-url", "", "Postgres connection string (env "+EnvPrefix+"DATABASE_URL, else DATABASE_URL)")
	db := &cfg.Database
	maxConns, minConns, minIdle := int64(db.MaxConns), int64(db.MinConns), int64(db.MinIdleConns)
	integer(&maxConns, "db-max-conns", "DB_MAX_CONNS", "most connections the pool opens")
	integer(&minConns, "db-min-conns", "DB_MIN_CONNS", "connections the pool keeps open even when idle")
	integer(&minIdle, "db-min-idle-conns", "DB_MIN_IDLE_CONNS", "idle connections the pool keeps ready for bursts")
	dur(&db.MaxConnLifetime, "db-max-conn-lifetime", "DB_MAX_CONN_LIFETIME", "age at which a connection is closed and replaced")
	dur(&db.MaxConnLifetimeJitter, "db-max-conn-lifetime-jitter", "DB_MAX_CONN_LIFETIME_JITTER", "random extra lifetime per connection, so they do not all expire together")
	dur(&db.MaxConnIdleTime, "db-max-conn-idle-time", "DB_MAX_CONN_IDLE_TIME", "idle time after which a connection above db-min-conns is closed")
	dur(&db.HealthCheckPeriod, "db-health-check-period", "DB_HEALTH_CHECK_PERIOD", "how often idle connections are checked and the pool topped up")
	dur(&db.ConnectTimeout, "db-connect-timeout", "DB_CONNECT_TIMEOUT", "time allowed to open one connection")
	dur(&db.PingTimeout, "db-ping-timeout", "DB_PING_TIMEOUT", "time allowed to check an idle connection before it is reused")
	dur(&db.SlowQuery, "db-slow-query", "DB_SLOW_QUERY", "queries slower than this are logged as warnings")
	boolean(&cfg.MigrateOnStart, "db-migrate", "DB_MIGRATE", "apply pending schema migrations at start")
	dur(&cfg.MigrateWait, "db-migrate-wait", "DB_MIGRATE_WAIT", "how long migrations at start wait for an unreachable database, serving not-ready, before the service exits")
	finishObservability := observabilityFlags(fs, lookup, &cfg.Observability)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if err := finishObservability(); err != nil {
		errs = append(errs, err)
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	cfg.MaxHeaderBytes = int(maxHeader)
	cfg.MaxConcurrentStreams = int(streams)
	cfg.GRPCMaxMsgBytes = int(grpcMsg)
	cfg.GRPCMaxConcurrentStreams = int(grpcStreams)
	cfg.MaxConcurrency = int(maxConcurrency)
	cfg.BlockProfileRate, cfg.MutexProfileFraction = int(blockRate), int(mutexFraction)
	cfg.MaxConns = int(publicConns)
	cfg.BatchWorkers = int(batchWorkers)
	cfg.CacheEntries = int(cacheEntries)
	// The service's own variable wins over the conventional one, for hosts
	// that run several services.
	db.URL = databaseURL
	if db.URL == "" {
		db.URL = env("DATABASE_URL")
	}
	if db.URL == "" {
		db.URL, _ = lookup("DATABASE_URL")
	}
	poolSize := func(p *int32, name string, v int64) {
		if v < 0 || v > math.MaxInt32 {
			errs = append(errs, fmt.Errorf("%s %d: out of range", name, v))
			return
		}
		*p = int32(v)
	}
	poolSize(&db.MaxConns, "db-max-conns", maxConns)
	poolSize(&db.MinConns, "db-min-conns", minConns)
	poolSize(&db.MinIdleConns, "db-min-idle-conns", minIdle)
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		errs = append(errs, fmt.Errorf("log level %q: use debug, info, warn or error", level))
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, cfg.Validate()
}

// Validate reports the first value that would make the service misbehave.
func (c Config) Validate() error {
	type setting[T any] struct {
		name  string
		value T
	}
	addrs := []setting[string]{
		{"http-addr", c.HTTPAddr},
		{"grpc-addr", c.GRPCAddr},
		{"admin-addr", c.AdminAddr},
	}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a.value); err != nil {
			return fmt.Errorf("%s %q: want host:port, such as :8080", a.name, a.value)
		}
	}
	durations := []setting[time.Duration]{
		{"shutdown-timeout", c.ShutdownTimeout},
		{"shed-latency", c.ShedLatency},
		{"store-timeout", c.StoreTimeout},
		{"idle-timeout", c.IdleTimeout},
		{"cache-ttl", c.CacheTTL},
		{"read-header-timeout", c.ReadHeaderTimeout},
		{"read-timeout", c.ReadTimeout},
		{"write-timeout", c.WriteTimeout},
	}
	for _, d := range durations {
		if d.value <= 0 {
			return fmt.Errorf("%s %s: must be positive", d.name, d.value)
		}
	}
	counts := []setting[int64]{
		{"max-concurrency", int64(c.MaxConcurrency)},
		{"batch-workers", int64(c.BatchWorkers)},
		{"cache-entries", int64(c.CacheEntries)},
		{"cache-max-bytes", c.CacheMaxBytes},
	}
	for _, n := range counts {
		if n.value <= 0 {
			return fmt.Errorf("%s %d: must be positive", n.name, n.value)
		}
	}
	if c.ShutdownDelay < 0 {
		return fmt.Errorf("shutdown-delay %s: must not be negative", c.ShutdownDelay)
	}
	if c.BlockProfileRate < 0 || c.MutexProfileFraction < 0 || c.FlightRecorder < 0 {
		return errors.New("block-profile-rate, mutex-profile-fraction and flight-recorder must not be negative; 0 turns each off")
	}
	if c.MaxConns < 0 {
		return fmt.Errorf("max-conns %d: must not be negative (0 derives it from the file limit)", c.MaxConns)
	}
	if c.MaxHeaderBytes <= 0 || c.MaxBodyBytes <= 0 || c.MaxConcurrentStreams <= 0 {
		return errors.New("max-header-bytes, max-body-bytes and max-concurrent-streams must be positive")
	}
	if c.StoreTimeout >= c.WriteTimeout {
		return fmt.Errorf("store-timeout %s must be shorter than write-timeout %s, or the answer to a slow store call is lost", c.StoreTimeout, c.WriteTimeout)
	}
	if c.GRPCMaxMsgBytes <= 0 || c.GRPCMaxConcurrentStreams <= 0 {
		return errors.New("grpc-max-msg-bytes and grpc-max-concurrent-streams must be positive")
	}
	if int64(c.GRPCMaxConcurrentStreams) > math.MaxUint32 {
		return fmt.Errorf("grpc-max-concurrent-streams %d: at most %d", c.GRPCMaxConcurrentStreams, uint32(math.MaxUint32))
	}
	if err := c.Database.Validate(); err != nil {
		return err
	}
	if c.MigrateWait < 0 {
		return fmt.Errorf("db-migrate-wait %s: must not be negative", c.MigrateWait)
	}
	return c.Observability.Validate()
}
