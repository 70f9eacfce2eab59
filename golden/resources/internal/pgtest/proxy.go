package pgtest

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// proxyMode is what the proxy does with traffic.
type proxyMode int

const (
	forwarding proxyMode = iota // pass bytes both ways
	refusing                    // close every connection, accepted or open: a crashed server or a network reset
	stalling                    // hold every byte: a network partition that drops packets silently
)

// Proxy stands between the service and Postgres, so a test can take the
// database away, and give it back, without touching the shared server.
type Proxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu     sync.Mutex
	cond   *sync.Cond // signalled when mode or closed changes
	mode   proxyMode
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup

	accepted atomic.Int64
}

// StartProxy listens on a loopback port and forwards to target (host:port)
// until the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{t: t, ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the address clients dial instead of target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Accepted returns how many connections clients have opened through the
// proxy, refused ones included: the connection attempts the database saw,
// or would have.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Cut closes every open connection and every new one at once.
func (p *Proxy) Cut() { p.setMode(refusing) }

// Stall stops forwarding: connections stay open, and nothing arrives.
func (p *Proxy) Stall() { p.setMode(stalling) }

// Restore forwards again; stalled bytes are delivered.
func (p *Proxy) Restore() { p.setMode(forwarding) }

func (p *Proxy) setMode(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	if m == refusing {
		for c := range p.conns {
			c.Close()
		}
	}
	p.cond.Broadcast()
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}

// track registers c so Cut and close can close it; it reports false, and
// closes c, when the proxy is refusing or closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.mode == refusing {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.t.Errorf("proxy accept: %v", err)
			}
			return
		}
		p.accepted.Add(1)
		if !p.track(client) {
			continue
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	upstream, err := net.Dial("tcp", p.target)
	if err != nil {
		return // the client sees its connection close, as with a dead server
	}
	if !p.track(upstream) {
		return
	}
	defer p.untrack(upstream)
	done := make(chan struct{}, 2)
	go func() { p.pipe(upstream, client); done <- struct{}{} }()
	go func() { p.pipe(client, upstream); done <- struct{}{} }()
	<-done
	// One side ended: end the other too, then wait for its pipe.
	client.Close()
	upstream.Close()
	<-done
}

// pipe copies src to dst, holding each chunk while the proxy stalls.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitForward() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or closed: serve ends the other direction
		}
	}
}

// waitForward blocks while the proxy stalls and reports whether to forward.
func (p *Proxy) waitForward() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.mode == stalling && !p.closed {
		p.cond.Wait()
	}
	return p.mode == forwarding && !p.closed
}
