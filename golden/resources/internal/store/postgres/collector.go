package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"example.com/shop/internal/metrics"
)

// PoolCollector exports a pool's statistics. It reads pool.Stat() when
// Prometheus scrapes, so it costs nothing between scrapes and never shows
// stale values.
type PoolCollector struct {
	pool *pgxpool.Pool

	acquiredConns        *prometheus.Desc
	idleConns            *prometheus.Desc
	constructingConns    *prometheus.Desc
	totalConns           *prometheus.Desc
	maxConns             *prometheus.Desc
	acquireCount         *prometheus.Desc
	acquireDuration      *prometheus.Desc
	emptyAcquireCount    *prometheus.Desc
	emptyAcquireWait     *prometheus.Desc
	canceledAcquireCount *prometheus.Desc
	newConnsCount        *prometheus.Desc
	lifetimeDestroyCount *prometheus.Desc
	idleDestroyCount     *prometheus.Desc
}

var _ prometheus.Collector = (*PoolCollector)(nil)

// NewPoolCollector returns a collector for pool.
func NewPoolCollector(pool *pgxpool.Pool) *PoolCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(metrics.Namespace, "db_pool", name), help, nil, nil)
	}
	return &PoolCollector{
		pool:                 pool,
		acquiredConns:        desc("acquired_conns", "Connections in use by the application."),
		idleConns:            desc("idle_conns", "Connections open and waiting in the pool."),
		constructingConns:    desc("constructing_conns", "Connections being opened."),
		totalConns:           desc("total_conns", "All connections: acquired, idle and being opened."),
		maxConns:             desc("max_conns", "The pool's size limit."),
		acquireCount:         desc("acquires_total", "Successful connection acquires."),
		acquireDuration:      desc("acquire_duration_seconds_total", "Total time spent acquiring connections; divide by acquires_total for the mean."),
		emptyAcquireCount:    desc("empty_acquires_total", "Acquires that found no idle connection and had to wait for one or for a new connection."),
		emptyAcquireWait:     desc("empty_acquire_wait_seconds_total", "Total time acquires spent waiting because the pool had no idle connection."),
		canceledAcquireCount: desc("canceled_acquires_total", "Acquires abandoned because their context ended first."),
		newConnsCount:        desc("new_conns_total", "Connections opened."),
		lifetimeDestroyCount: desc("max_lifetime_destroys_total", "Connections closed because they reached their maximum lifetime."),
		idleDestroyCount:     desc("max_idle_destroys_total", "Connections closed because they sat idle too long."),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.acquiredConns, c.idleConns, c.constructingConns, c.totalConns, c.maxConns,
		c.acquireCount, c.acquireDuration, c.emptyAcquireCount, c.emptyAcquireWait,
		c.canceledAcquireCount, c.newConnsCount, c.lifetimeDestroyCount, c.idleDestroyCount,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.acquiredConns, float64(s.AcquiredConns()))
	gauge(c.idleConns, float64(s.IdleConns()))
	gauge(c.constructingConns, float64(s.ConstructingConns()))
	gauge(c.totalConns, float64(s.TotalConns()))
	gauge(c.maxConns, float64(s.MaxConns()))
	counter(c.acquireCount, float64(s.AcquireCount()))
	counter(c.acquireDuration, s.AcquireDuration().Seconds())
	counter(c.emptyAcquireCount, float64(s.EmptyAcquireCount()))
	counter(c.emptyAcquireWait, s.EmptyAcquireWaitTime().Seconds())
	counter(c.canceledAcquireCount, float64(s.CanceledAcquireCount()))
	counter(c.newConnsCount, float64(s.NewConnsCount()))
	counter(c.lifetimeDestroyCount, float64(s.MaxLifetimeDestroyCount()))
	counter(c.idleDestroyCount, float64(s.MaxIdleDestroyCount()))
}
