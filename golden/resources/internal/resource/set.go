package resource

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"example.com/shop/internal/metrics"
)

// A Resource is one API the service serves, as the resource registers it.
// The server knows resources only through this type, so adding one is a
// new package and a line in cmd/shop/resources.go, never an edit to
// the server.
type Resource struct {
	// Name names the resource in readiness answers, e.g. "items".
	Name string
	// RegisterHTTP adds the resource's routes to the public mux. Routes
	// use method and path patterns ("GET /v1/items/{id}").
	RegisterHTTP func(*http.ServeMux)
	// RegisterGRPC registers the resource's gRPC services. The health
	// service reports each registered service by its name.
	RegisterGRPC func(grpc.ServiceRegistrar)
	// Ready reports whether the resource can serve requests, typically
	// whether its store answers; nil means always ready.
	Ready func(context.Context) error
}

// Settings are the configuration every resource reads; main fills them
// from the service's flags and environment.
type Settings struct {
	// StoreTimeout bounds the store calls of one request.
	StoreTimeout time.Duration
	// BatchWorkers bounds the concurrent store lookups of one batch request.
	BatchWorkers int
	// MaxBodyBytes bounds a request's body size.
	MaxBodyBytes int64
	// CacheEntries and CacheMaxBytes bound each resource's cache, by
	// entries and by encoded size.
	CacheEntries  int
	CacheMaxBytes int64
	// CacheTTL is how long a cached value is served before it is reloaded.
	CacheTTL time.Duration
}

// Deps are what the service shares with every resource it builds.
type Deps struct {
	Settings Settings
	Log      *slog.Logger
	// Metrics is the service's metrics; its Registry takes collectors that
	// name their own metrics, such as the database pool's.
	Metrics *metrics.Metrics
	// Registerer registers a resource's metrics under the service's prefix.
	Registerer prometheus.Registerer
	// Upstream, when set, is the client of the example outbound call: its
	// transport balances over the configured upstream instances.
	Upstream *http.Client
}

// A Set collects the resources the service serves, and what they hold
// that must be released when it stops. Each resource package registers
// itself in it with one call; see cmd/shop/resources.go.
type Set struct {
	Deps
	// Caches holds each resource's cache by the table it caches; a
	// resource adds its cache here so that writes on other replicas reach
	// it (see Caches).
	Caches    *Caches
	resources []Resource
	closers   []func()
}

// NewSet returns an empty Set over d.
func NewSet(d Deps) *Set { return &Set{Deps: d, Caches: NewCaches()} }

// Add registers r to be served.
func (s *Set) Add(r Resource) { s.resources = append(s.resources, r) }

// OnClose has Close call release, after the release functions added later.
func (s *Set) OnClose(release func()) { s.closers = append(s.closers, release) }

// Resources returns the registered resources in the order added.
func (s *Set) Resources() []Resource { return slices.Clone(s.resources) }

// Close releases what the resources hold, last added first. Call it after
// the servers have drained.
func (s *Set) Close() {
	for _, release := range slices.Backward(s.closers) {
		release()
	}
	s.closers = nil
}
