package server

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// testTick is the sweeper's period in these tests.
const testTick = 10 * time.Millisecond

// deadlinePair returns a connection accepted through a running deadlines
// wrapper and the client's end of it.
func deadlinePair(t *testing.T) (*deadlineConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := newDeadlines(testTick)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		d.run(stop)
	}()
	wrapped := d.listener(ln)
	t.Cleanup(func() {
		_ = wrapped.Close()
		close(stop)
		<-stopped
	})
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	c, err := wrapped.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*deadlineConn), client
}

func TestDeadlineInterruptsABlockedRead(t *testing.T) {
	t.Parallel()
	c, _ := deadlinePair(t)
	deadline := time.Now().Add(5 * testTick)
	if err := c.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline returned %v, want os.ErrDeadlineExceeded", err)
	}
	if time.Now().Before(deadline) {
		t.Fatal("the Read was interrupted before its deadline")
	}
}

func TestDeadlineInterruptsABlockedWrite(t *testing.T) {
	t.Parallel()
	c, _ := deadlinePair(t) // the client never reads: the socket buffers fill
	if err := c.SetWriteDeadline(time.Now().Add(5 * testTick)); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for range 1 << 10 { // 1 GiB: far more than any socket buffer
		if _, err := c.Write(chunk); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Write past the deadline returned %v, want os.ErrDeadlineExceeded", err)
			}
			return
		}
	}
	t.Fatal("1 GiB written to a client that reads nothing: the write deadline never fired")
}

// A later deadline replaces an earlier one: net/http moves the read
// deadline from the header's to the whole request's, then clears it while
// the handler runs. Only the last one set may interrupt the connection.
func TestDeadlineOnlyTheLastOneSetCounts(t *testing.T) {
	t.Parallel()
	c, client := deadlinePair(t)
	if err := c.SetReadDeadline(time.Now().Add(2 * testTick)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * testTick) // well past the first deadline's sweep
		_, _ = client.Write([]byte("x"))
	}()
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("Read with its deadline cleared: %v", err)
	}
}

// net/http interrupts its background read with a deadline in the past and
// then clears it; the connection must read again after that.
func TestDeadlineInThePastInterruptsAtOnceAndClears(t *testing.T) {
	t.Parallel()
	c, client := deadlinePair(t)
	read := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		read <- err
	}()
	time.Sleep(testTick) // let the Read block
	if err := c.SetReadDeadline(aLongTimeAgo); err != nil {
		t.Fatal(err)
	}
	if err := <-read; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read interrupted by a past deadline returned %v, want os.ErrDeadlineExceeded", err)
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("Read after the past deadline was cleared: %v", err)
	}
}

// A handler cuts its connection short with a deadline of "now"
// (httpjson's refused bodies do): that interrupts at once, not a tick later.
func TestDeadlineOfNowInterruptsAtOnce(t *testing.T) {
	t.Parallel()
	pair, _ := deadlinePair(t)
	// No sweeper, and a clock an hour coarse: only the deadline itself can
	// interrupt the Read.
	c := &deadlineConn{Conn: pair.Conn, d: newDeadlines(time.Hour)}
	read := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		read <- err
	}()
	time.Sleep(testTick) // let the Read block
	if err := c.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-read:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read interrupted by a deadline of now returned %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a deadline of now did not interrupt the Read")
	}
}

// A connection the sweeper interrupted serves again once a new deadline is
// set: net/http sets one before each request.
func TestDeadlineExpiredThenRenewed(t *testing.T) {
	t.Parallel()
	c, client := deadlinePair(t)
	if err := c.SetReadDeadline(time.Now().Add(testTick)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline returned %v, want os.ErrDeadlineExceeded", err)
	}
	if err := c.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("Read after a new deadline: %v", err)
	}
}

func TestDeadlineClosedConnectionsLeaveTheSweep(t *testing.T) {
	t.Parallel()
	c, _ := deadlinePair(t)
	_ = c.Close()
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if n := len(c.d.conns); n != 0 {
		t.Fatalf("%d connections in the sweep after the only one closed", n)
	}
}

func TestDeadlineTick(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		timeouts []time.Duration
		want     time.Duration
	}{
		{nil, maxDeadlineTick},
		{[]time.Duration{0, 0}, maxDeadlineTick},
		{[]time.Duration{5 * time.Second, 15 * time.Second, 0}, maxDeadlineTick},
		{[]time.Duration{time.Second, 15 * time.Second}, 100 * time.Millisecond},
		{[]time.Duration{time.Millisecond}, minDeadlineTick},
	} {
		if got := deadlineTick(tc.timeouts...); got != tc.want {
			t.Errorf("deadlineTick(%v) = %s, want %s", tc.timeouts, got, tc.want)
		}
	}
}

// BenchmarkConnDeadlines replays the deadlines net/http sets on an
// HTTP/1.1 connection for each request, with every timeout configured:
// header and whole-request read deadlines, the response's write deadline,
// the clearing around the background read (interrupted with a past
// deadline), and the idle deadline.
func BenchmarkConnDeadlines(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	raw, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	d := newDeadlines(maxDeadlineTick)
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		d.run(stop)
	}()
	defer func() {
		close(stop)
		<-stopped
	}()
	wrapped := &deadlineConn{Conn: raw, d: d}
	d.add(wrapped)
	for _, bc := range []struct {
		name string
		conn net.Conn
	}{
		{"net.Conn", raw},
		{"coarse", wrapped},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			c := bc.conn
			for b.Loop() {
				now := time.Now()
				_ = c.SetReadDeadline(now.Add(5 * time.Second))   // ReadHeaderTimeout
				_ = c.SetReadDeadline(now.Add(15 * time.Second))  // ReadTimeout
				_ = c.SetWriteDeadline(now.Add(15 * time.Second)) // WriteTimeout
				_ = c.SetReadDeadline(time.Time{})                // background read starts
				_ = c.SetReadDeadline(aLongTimeAgo)               // and is interrupted
				_ = c.SetReadDeadline(time.Time{})
				_ = c.SetWriteDeadline(time.Time{})
				_ = c.SetReadDeadline(now.Add(120 * time.Second)) // IdleTimeout
			}
		})
	}
}

// BenchmarkSweep is one tick's sweep of 10,000 open connections, none of
// them past its deadline: the sweeper's cost, paid every tick.
func BenchmarkSweep(b *testing.B) {
	d := newDeadlines(maxDeadlineTick)
	future := time.Now().Add(time.Hour).UnixNano()
	for range 10_000 {
		d.add(&deadlineConn{d: d, read: future, write: future})
	}
	b.ReportAllocs()
	for b.Loop() {
		d.expire(time.Now().UnixNano())
	}
}
