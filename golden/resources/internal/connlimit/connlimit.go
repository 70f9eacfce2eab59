// Package connlimit caps the connections a listener keeps open.
//
// Every connection is a file descriptor, a goroutine and its buffers, held
// for as long as the client keeps it alive. Without a cap, a flood of idle
// keep-alive connections runs the process out of descriptors: accept fails
// with EMFILE on every port, the admin port's health probes included, and
// the orchestrator restarts a pod that was otherwise healthy.
//
// A Budget admits at most Max connections through the listeners it wraps.
// Past the cap, a new connection first takes the place of an idle
// keep-alive connection, which is closed (an idle client reconnects at no
// cost; a working one would lose its request); with none idle, the new
// connection is closed at once, so the client fails fast instead of
// waiting in the kernel's backlog. The http.Server reports idleness through
// ConnState, which must be set to the Budget's.
package connlimit

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
)

// Reserve is how many descriptors FromFileLimit keeps out of the budget for
// everything but public connections: the admin port and its probes, the
// gRPC port, the store's connection pool, upstream connections, and files.
// The larger of Reserve and a tenth of the limit is kept.
const Reserve = 128

// FromFileLimit returns a connection cap derived from the process's soft
// RLIMIT_NOFILE: the limit less the larger of Reserve and a tenth of it.
func FromFileLimit() (int, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("read the file limit: %w", err)
	}
	return capFor(rl.Cur)
}

func capFor(nofile uint64) (int, error) {
	reserve := max(uint64(Reserve), nofile/10)
	if nofile <= reserve {
		return 0, fmt.Errorf("the file limit %d leaves no descriptors for connections after %d reserved; raise it (ulimit -n, LimitNOFILE) or set the connection cap", nofile, reserve)
	}
	return int(min(nofile-reserve, 1<<30)), nil // #nosec G115 -- bounded above by 1<<30
}

// Budget caps open connections across the listeners it wraps. It is safe
// for concurrent use.
type Budget struct {
	max int64

	open atomic.Int64

	mu   sync.Mutex
	idle map[*conn]struct{} // open connections between requests

	refused, idleClosed atomic.Int64
}

// New returns a Budget of max connections.
func New(max int) (*Budget, error) {
	if max < 1 {
		return nil, fmt.Errorf("connlimit: the cap must be at least 1, got %d", max)
	}
	return &Budget{max: int64(max), idle: make(map[*conn]struct{})}, nil
}

// Max returns the cap.
func (b *Budget) Max() int { return int(b.max) }

// Open returns the connections currently open through the Budget.
func (b *Budget) Open() int { return int(b.open.Load()) }

// Listener wraps ln so that its connections count against the Budget.
func (b *Budget) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, b: b} }

// ConnState is the http.Server ConnState hook that tells the Budget which
// connections are idle. Set it on every http.Server serving a Listener of
// the Budget.
func (b *Budget) ConnState(c net.Conn, state http.ConnState) {
	bc, ok := c.(*conn)
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if state == http.StateIdle && !bc.closed.Load() {
		b.idle[bc] = struct{}{}
	} else {
		delete(b.idle, bc)
	}
}

// admit counts a new connection, closing an idle one to make room at the
// cap. It reports false when the cap is reached and nothing is idle. The
// count never passes the cap, even for a moment.
func (b *Budget) admit() bool {
	for {
		n := b.open.Load()
		if n < b.max {
			if b.open.CompareAndSwap(n, n+1) {
				return true
			}
			continue
		}
		victim := b.takeIdle()
		if victim == nil {
			b.refused.Add(1)
			return false
		}
		// The new connection takes the victim's place: the count stays.
		if victim.closed.CompareAndSwap(false, true) {
			b.idleClosed.Add(1)
			_ = victim.Conn.Close()
			return true
		}
		// It was closing on its own and gives its place back: try again.
	}
}

// takeIdle removes and returns an idle connection, or nil.
func (b *Budget) takeIdle() *conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.idle {
		delete(b.idle, c)
		return c
	}
	return nil
}

type listener struct {
	net.Listener
	b *Budget
}

// Accept returns the next connection within the budget, closing those past
// it as they arrive.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.b.admit() {
			_ = c.Close()
			continue
		}
		return &conn{Conn: c, b: l.b}, nil
	}
}

// conn gives its place back once, on the first Close.
type conn struct {
	net.Conn
	b      *Budget
	closed atomic.Bool
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) {
		c.b.open.Add(-1)
		c.b.mu.Lock()
		delete(c.b.idle, c)
		c.b.mu.Unlock()
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Register adds the Budget's metrics to reg: the cap, the open connections,
// and the connections refused and the idle ones closed at the cap.
func (b *Budget) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Subsystem: "connections", Name: "limit", Help: "Most public connections kept open at once.",
		}, func() float64 { return float64(b.max) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Subsystem: "connections", Name: "open", Help: "Public connections open now.",
		}, func() float64 { return float64(b.open.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Subsystem: "connections", Name: "refused_total", Help: "Public connections closed on arrival because the cap was reached and none was idle.",
		}, func() float64 { return float64(b.refused.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Subsystem: "connections", Name: "idle_closed_total", Help: "Idle keep-alive connections closed to make room for a new one at the cap.",
		}, func() float64 { return float64(b.idleClosed.Load()) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
