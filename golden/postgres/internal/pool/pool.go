// Package pool reuses objects that are costly to make.
//
// Pool is for expensive objects with a life of their own (connections,
// sessions, large parsers): it bounds how many exist at once, keeps a few idle
// ones warm, retires them when they sit idle too long, and makes callers wait
// (or fail fast) when all are in use. Buffers is for cheap, short-lived
// scratch memory, where sync.Pool's per-processor caches are the better tool.
package pool

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned by Get after Close.
var ErrClosed = errors.New("pool: closed")

// ErrExhausted is returned by Get in fail-fast mode when every object is in
// use and the pool is at MaxSize.
var ErrExhausted = errors.New("pool: every object is in use; raise MaxSize or retry later")

// Options configure a Pool. New and MaxSize are required.
type Options[T any] struct {
	// New makes an object. It is called without the pool's lock held, so
	// several may be made at once, but never more than MaxSize in total.
	New func(context.Context) (T, error)
	// Close releases an object the pool discards; nil means nothing to do.
	Close func(T) error
	// MaxSize bounds the objects in existence: in use plus idle.
	MaxSize int
	// MaxIdle bounds the idle objects kept for reuse; extra returns are
	// closed. Zero means MaxSize.
	MaxIdle int
	// IdleTimeout closes objects idle longer than this; zero keeps them.
	IdleTimeout time.Duration
	// FailFast makes Get return ErrExhausted at once when the pool is full,
	// instead of waiting for an object to come back.
	FailFast bool
	// Now is the clock idle times are measured with; zero means time.Now.
	Now func() time.Time
}

// Pool is a bounded pool of objects of type T. It is safe for concurrent use.
type Pool[T any] struct {
	o Options[T]

	mu      sync.Mutex
	open    int          // objects in existence, or being made
	idle    []idleObj[T] // oldest first; Get takes the newest
	waiters []chan grant[T]
	closed  bool
}

type idleObj[T any] struct {
	obj   T
	since time.Time
}

// grant is what a waiting Get receives: an object, permission to make one,
// or word that the pool closed.
type grant[T any] struct {
	obj    T
	make   bool
	closed bool
}

// New returns an empty pool; objects are made on demand.
func New[T any](o Options[T]) (*Pool[T], error) {
	if o.New == nil {
		return nil, errors.New("pool: Options.New is required")
	}
	if o.MaxSize < 1 {
		return nil, errors.New("pool: MaxSize must be at least 1")
	}
	if o.MaxIdle <= 0 || o.MaxIdle > o.MaxSize {
		o.MaxIdle = o.MaxSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Pool[T]{o: o}, nil
}

// Get returns an idle object, or makes one if the pool is below MaxSize.
// Otherwise it waits until an object is returned or ctx ends, or, with
// FailFast, returns ErrExhausted. Return the object with Put, or with
// Discard if it is broken.
func (p *Pool[T]) Get(ctx context.Context) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return zero, ErrClosed
	}
	stale := p.pruneLocked()
	if n := len(p.idle); n > 0 {
		obj := p.idle[n-1].obj
		p.idle[n-1] = idleObj[T]{}
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		p.closeAll(stale)
		return obj, nil
	}
	if p.open < p.o.MaxSize {
		p.open++
		p.mu.Unlock()
		p.closeAll(stale)
		return p.make(ctx)
	}
	if p.o.FailFast {
		p.mu.Unlock()
		p.closeAll(stale)
		return zero, ErrExhausted
	}
	ch := make(chan grant[T], 1)
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	p.closeAll(stale)

	select {
	case g := <-ch:
		return p.accept(ctx, g)
	case <-ctx.Done():
		p.mu.Lock()
		for i, w := range p.waiters {
			if w == ch {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				p.mu.Unlock()
				return zero, ctx.Err()
			}
		}
		p.mu.Unlock()
		// Granted while giving up: pass the grant on rather than leak it.
		g := <-ch
		switch {
		case g.closed:
		case g.make:
			p.release()
		default:
			p.Put(g.obj)
		}
		return zero, ctx.Err()
	}
}

func (p *Pool[T]) accept(ctx context.Context, g grant[T]) (T, error) {
	switch {
	case g.closed:
		var zero T
		return zero, ErrClosed
	case g.make:
		return p.make(ctx)
	}
	return g.obj, nil
}

// make creates an object for a slot already counted in p.open, and gives the
// slot back if creation fails.
func (p *Pool[T]) make(ctx context.Context) (T, error) {
	obj, err := p.o.New(ctx)
	if err != nil {
		p.release()
		var zero T
		return zero, err
	}
	return obj, nil
}

// Put returns an object to the pool: to a waiting Get, to the idle list, or,
// past MaxIdle or after Close, to Options.Close.
func (p *Pool[T]) Put(obj T) {
	p.mu.Lock()
	if !p.closed {
		if len(p.waiters) > 0 {
			ch := p.waiters[0]
			p.waiters = p.waiters[1:]
			p.mu.Unlock()
			ch <- grant[T]{obj: obj}
			return
		}
		if len(p.idle) < p.o.MaxIdle {
			p.idle = append(p.idle, idleObj[T]{obj: obj, since: p.o.Now()})
			stale := p.pruneLocked()
			p.mu.Unlock()
			p.closeAll(stale)
			return
		}
	}
	p.mu.Unlock()
	p.Discard(obj)
}

// Discard closes an object instead of returning it, freeing its slot for a
// new one. Use it for objects that are broken.
func (p *Pool[T]) Discard(obj T) {
	p.closeOne(obj)
	p.release()
}

// release frees one slot: a waiter may now make an object.
func (p *Pool[T]) release() {
	p.mu.Lock()
	if !p.closed && len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		ch <- grant[T]{make: true} // the slot passes to the waiter
		return
	}
	p.open--
	p.mu.Unlock()
}

// Close closes the idle objects and makes every later and waiting Get fail
// with ErrClosed. Objects in use are closed when they are returned.
func (p *Pool[T]) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	waiters := p.waiters
	p.waiters = nil
	p.mu.Unlock()
	for _, ch := range waiters {
		ch <- grant[T]{closed: true}
	}
	for _, it := range idle {
		p.closeOne(it.obj)
	}
}

// Stats is a snapshot of a pool's occupancy.
type Stats struct {
	// Open counts objects in existence (or being made): in use plus idle.
	Open int
	// Idle counts objects waiting for reuse.
	Idle int
	// Waiting counts Gets blocked on a full pool.
	Waiting int
}

// Stats returns the pool's occupancy.
func (p *Pool[T]) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Open: p.open, Idle: len(p.idle), Waiting: len(p.waiters)}
}

// pruneLocked removes objects idle past IdleTimeout and returns them for
// closing outside the lock. The idle list is oldest first, so expired
// objects are a prefix.
func (p *Pool[T]) pruneLocked() []T {
	if p.o.IdleTimeout <= 0 || len(p.idle) == 0 {
		return nil
	}
	cutoff := p.o.Now().Add(-p.o.IdleTimeout)
	n := 0
	for n < len(p.idle) && !p.idle[n].since.After(cutoff) {
		n++
	}
	if n == 0 {
		return nil
	}
	stale := make([]T, n)
	for i := range n {
		stale[i] = p.idle[i].obj
	}
	p.idle = append(p.idle[:0], p.idle[n:]...)
	p.open -= n
	return stale
}

func (p *Pool[T]) closeAll(objs []T) {
	for _, obj := range objs {
		p.closeOne(obj)
	}
}

func (p *Pool[T]) closeOne(obj T) {
	if p.o.Close != nil {
		// A failed close leaves nothing to retry; the slot is free either way.
		_ = p.o.Close(obj)
	}
}
