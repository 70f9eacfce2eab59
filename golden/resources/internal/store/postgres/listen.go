package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"example.com/shop/internal/resource"
)

// InvalidationChannel is the channel the cache_invalidate trigger (migration
// 0002) notifies: each payload is "<table>:<id>" for a changed row, or
// "<table>" when the whole table changed.
const InvalidationChannel = "cache_invalidation"

// How the listener watches its connection and comes back after losing it.
const (
	// listenCheck is how long the listener waits for a notification
	// before it pings its connection: a connection that died without a
	// word (a silent network partition) is noticed within listenCheck plus
	// the pool's ping timeout.
	listenCheck = 2 * time.Second
	// listenBackoffMin and listenBackoffMax bound the wait before
	// reconnecting, which doubles after each failure and is jittered so
	// replicas that lost the database together do not return together.
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 10 * time.Second
)

// A Listener keeps the caches of every replica coherent with the database:
// it LISTENs on one dedicated connection (outside the pool) for the
// notifications the tables' trigger sends when their rows change, whoever
// changes them, and drops each changed key from its table's cache.
//
// A cache is trusted only while the listener listens. Until the first
// LISTEN, and from the moment the connection fails until LISTEN is back,
// every cache is suspended: reads go to the store. When LISTEN is back the
// caches start empty, so a write whose notification was missed is not
// served from a cache.
type Listener struct {
	config      *pgx.ConnConfig
	pingTimeout time.Duration
	caches      *resource.Caches
	log         *slog.Logger

	coherent prometheus.Gauge
	received *prometheus.CounterVec
	connects prometheus.Counter

	cancel context.CancelFunc
	done   chan struct{}
}

// Listen suspends caches and starts a Listener that resumes them once it
// listens; call it after every resource has added its cache. Its metrics
// go to reg. Close stops it.
func (s *Store) Listen(caches *resource.Caches, log *slog.Logger, reg prometheus.Registerer) (*Listener, error) {
	pc := s.pool.Config()
	l, err := newListener(pc.ConnConfig, pc.PingTimeout, caches, log, reg)
	if err != nil {
		return nil, err
	}
	l.start()
	return l, nil
}

// newListener returns a Listener that connects with config, which it
// keeps; start starts it.
func newListener(config *pgx.ConnConfig, pingTimeout time.Duration, caches *resource.Caches, log *slog.Logger, reg prometheus.Registerer) (*Listener, error) {
	// Its statements are not the store's: keep them out of the store's
	// query metrics and slow-query log.
	config.Tracer = nil
	if config.RuntimeParams == nil {
		config.RuntimeParams = map[string]string{}
	}
	if _, ok := config.RuntimeParams["application_name"]; !ok {
		// Names the connection in pg_stat_activity.
		config.RuntimeParams["application_name"] = "shop cache listener"
	}
	if pingTimeout <= 0 {
		pingTimeout = listenCheck
	}
	l := &Listener{
		config:      config,
		pingTimeout: pingTimeout,
		caches:      caches,
		log:         log,
		coherent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cache_coherent",
			Help: "1 while the cache invalidation listener listens and the caches are trusted; 0 while they are bypassed.",
		}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cache_invalidations_total",
			Help: "Invalidations received from the database, by table: rows changed by any replica or by hand.",
		}, []string{"table"}),
		connects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cache_listen_connects_total",
			Help: "Times the cache invalidation listener established LISTEN; more than one means it reconnected.",
		}),
	}
	for _, t := range caches.Tables() {
		l.received.WithLabelValues(t)
	}
	for _, c := range []prometheus.Collector{l.coherent, l.received, l.connects} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register cache listener metrics: %w", err)
		}
	}
	return l, nil
}

// start suspends the caches and starts listening.
func (l *Listener) start() {
	l.caches.Suspend()
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go l.run(ctx)
}

// Close stops listening and waits for the listener to end; the caches are
// left suspended.
func (l *Listener) Close() {
	l.cancel()
	<-l.done
}

// run listens until ctx ends, reconnecting after each failure.
func (l *Listener) run(ctx context.Context) {
	defer close(l.done)
	backoff := listenBackoffMin
	for {
		began := time.Now()
		listened, err := l.listen(ctx)
		l.caches.Suspend()
		l.coherent.Set(0)
		if ctx.Err() != nil {
			return
		}
		if listened && time.Since(began) >= listenCheck {
			backoff = listenBackoffMin
		}
		// Half the backoff, plus up to as much again at random.
		wait := backoff/2 + rand.N(backoff/2+1) // #nosec G404 -- jitter, not a secret
		if listened {
			l.log.Warn("cache invalidation listener lost its connection; caches bypassed until it is back", "err", err, "retry_in", wait)
		} else {
			l.log.Warn("cache invalidation listener cannot listen; caches bypassed until it can", "err", err, "retry_in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listen connects, LISTENs, resumes the caches, and dispatches
// notifications until the connection fails or ctx ends. listened reports
// whether it got as far as resuming the caches.
func (l *Listener) listen(ctx context.Context) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, l.config)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+InvalidationChannel); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	// From here every committed change is notified, and what was cached
	// before is dropped: the caches can be trusted.
	l.caches.Resume()
	l.coherent.Set(1)
	l.connects.Inc()
	l.log.Info("cache invalidation listener listening; caches trusted", "channel", InvalidationChannel)
	for {
		wctx, cancel := context.WithTimeout(ctx, listenCheck)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			l.dispatch(n.Payload)
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet for listenCheck: make sure the connection still answers.
			pctx, cancel := context.WithTimeout(ctx, l.pingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		default:
			return true, fmt.Errorf("wait for notification: %w", err)
		}
	}
}

// dispatch drops what payload names from its table's cache.
func (l *Listener) dispatch(payload string) {
	table, key, isRow := strings.Cut(payload, ":")
	var known bool
	if isRow {
		known = l.caches.Invalidate(table, key)
	} else {
		known = l.caches.Clear(table)
	}
	if !known {
		l.log.Debug("cache invalidation for a table without a cache", "payload", payload)
		return
	}
	l.received.WithLabelValues(table).Inc()
}
