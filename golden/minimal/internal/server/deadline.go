package server

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// net/http enforces ReadHeaderTimeout, ReadTimeout, WriteTimeout and
// IdleTimeout by setting the connection's deadlines: over HTTP/1.1 about
// eight times per request (header, whole request, response, idle, and the
// clearing around the background read it starts for every request). Each
// call re-arms a runtime timer under the poller's lock, which cost about
// 5 % of the CPU of a cached GET at full load.
//
// deadlines takes those calls instead. A connection only records the
// deadline it was given; one sweeper wakes every tick, and a connection
// whose deadline has passed gets a deadline in the past, which interrupts
// its blocked Read or Write exactly as the expired timer would have. A
// deadline therefore fires up to one tick late, and setting one costs an
// uncontended lock and a store. A deadline already in the past (how
// net/http interrupts its background read) is applied at once, and the
// zero deadline that follows it clears it.
type deadlines struct {
	tick time.Duration
	// now is the sweeper's clock, for telling a deadline already in the
	// past from a future one without reading the clock on every call.
	now atomic.Int64

	mu    sync.Mutex
	conns map[*deadlineConn]struct{}
	// sweep is the sweeper's copy of conns, reused from tick to tick.
	sweep []*deadlineConn
}

// Deadline granularity: a tenth of the shortest timeout, within these
// bounds, so a deadline is late by at most a tenth of the shortest timeout
// (or 10 ms) and the sweeper wakes no more than 100 times a second. A sweep
// locks each open connection once: 10,000 connections take about 0.4 ms
// (BenchmarkSweep), under 2 ms of CPU a second at the default 250 ms.
const (
	minDeadlineTick = 10 * time.Millisecond
	maxDeadlineTick = 250 * time.Millisecond
)

// deadlineTick returns the sweeper's period for timeouts: a tenth of the
// shortest one that is set, within [minDeadlineTick, maxDeadlineTick].
func deadlineTick(timeouts ...time.Duration) time.Duration {
	tick := maxDeadlineTick
	for _, d := range timeouts {
		if d > 0 {
			tick = min(tick, d/10)
		}
	}
	return max(tick, minDeadlineTick)
}

func newDeadlines(tick time.Duration) *deadlines {
	d := &deadlines{tick: tick, conns: make(map[*deadlineConn]struct{})}
	d.now.Store(time.Now().UnixNano())
	return d
}

// listener returns ln with its connections' deadlines enforced by d.
func (d *deadlines) listener(ln net.Listener) net.Listener {
	return &deadlineListener{Listener: ln, d: d}
}

// run sweeps every tick until stop is closed. Deadlines are enforced only
// while it runs, so it runs as long as the server serves, draining included.
func (d *deadlines) run(stop <-chan struct{}) {
	t := time.NewTicker(d.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			d.expire(now.UnixNano())
		}
	}
}

// expire interrupts every connection whose read or write deadline is at or
// before now.
func (d *deadlines) expire(now int64) {
	d.now.Store(now)
	d.mu.Lock()
	d.sweep = d.sweep[:0]
	for c := range d.conns {
		d.sweep = append(d.sweep, c)
	}
	d.mu.Unlock()
	// Each connection is locked on its own, so the sweep never holds up
	// accepting or closing connections.
	for i, c := range d.sweep {
		c.expire(now)
		d.sweep[i] = nil
	}
}

// passed reports whether deadline has passed. The sweeper's clock answers
// for deadlines a tick or more away from it; only one closer than that, such
// as "now" (how a handler cuts a connection short through
// http.ResponseController), reads the clock.
func (d *deadlines) passed(deadline int64) bool {
	now := d.now.Load()
	if deadline <= now {
		return true
	}
	if deadline-now > int64(d.tick) {
		return false
	}
	return deadline <= time.Now().UnixNano()
}

func (d *deadlines) add(c *deadlineConn) {
	d.mu.Lock()
	d.conns[c] = struct{}{}
	d.mu.Unlock()
}

func (d *deadlines) remove(c *deadlineConn) {
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
}

type deadlineListener struct {
	net.Listener
	d *deadlines
}

func (l *deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	dc := &deadlineConn{Conn: c, d: l.d}
	l.d.add(dc)
	return dc, nil
}

// aLongTimeAgo is a deadline in the past: setting it interrupts a blocked
// Read or Write at once.
var aLongTimeAgo = time.Unix(1, 0)

// deadlineConn records its deadlines for the sweeper instead of arming a
// timer for each.
type deadlineConn struct {
	net.Conn
	d *deadlines

	mu sync.Mutex
	// read and write are the deadlines set, in Unix nanoseconds; 0 is none.
	read, write int64
	// readPast and writePast say the underlying connection has a deadline
	// in the past: it was interrupted and needs clearing before it is used.
	readPast, writePast bool
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rerr := c.setLocked(&c.read, &c.readPast, t, c.Conn.SetReadDeadline)
	werr := c.setLocked(&c.write, &c.writePast, t, c.Conn.SetWriteDeadline)
	if rerr != nil {
		return rerr
	}
	return werr
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setLocked(&c.read, &c.readPast, t, c.Conn.SetReadDeadline)
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setLocked(&c.write, &c.writePast, t, c.Conn.SetWriteDeadline)
}

// setLocked records t as a deadline. Only two cases reach the underlying
// connection: a deadline already past is applied at once, and the first
// deadline after an interruption clears it.
func (c *deadlineConn) setLocked(deadline *int64, past *bool, t time.Time, set func(time.Time) error) error {
	*deadline = 0
	if !t.IsZero() {
		*deadline = t.UnixNano()
	}
	if *deadline != 0 && c.d.passed(*deadline) {
		*past = true
		return set(aLongTimeAgo)
	}
	if *past {
		*past = false
		return set(time.Time{})
	}
	return nil
}

// expire interrupts the connection's blocked Read or Write if its deadline
// is at or before now.
func (c *deadlineConn) expire(now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read != 0 && c.read <= now && !c.readPast {
		c.readPast = true
		_ = c.Conn.SetReadDeadline(aLongTimeAgo)
	}
	if c.write != 0 && c.write <= now && !c.writePast {
		c.writePast = true
		_ = c.Conn.SetWriteDeadline(aLongTimeAgo)
	}
}

func (c *deadlineConn) Close() error {
	c.d.remove(c)
	return c.Conn.Close()
}
