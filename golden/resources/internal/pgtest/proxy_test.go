package pgtest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer echoes each line back until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip writes a line through c and reads it back, giving up after d.
func roundTrip(c net.Conn, d time.Duration) (string, error) {
	if err := c.SetDeadline(time.Now().Add(d)); err != nil {
		return "", err
	}
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestProxyCutStallRestore(t *testing.T) {
	p := StartProxy(t, echoServer(t))
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	c := dial()
	if got, err := roundTrip(c, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("forwarding: %q, %v", got, err)
	}

	p.Cut()
	if _, err := roundTrip(c, 5*time.Second); err == nil {
		t.Fatal("an open connection still works after Cut")
	}
	if _, err := roundTrip(dial(), 5*time.Second); err == nil {
		t.Fatal("a new connection works after Cut")
	}

	p.Restore()
	c = dial()
	if got, err := roundTrip(c, 5*time.Second); err != nil || got != "ping\n" {
		t.Fatalf("after Restore: %q, %v", got, err)
	}

	// A stalled connection stays open and silent: the read times out.
	p.Stall()
	_, err := roundTrip(c, 200*time.Millisecond)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("stalled round trip: err = %v, want a timeout", err)
	}
	// Restoring delivers what was held: the stalled ping's echo comes back.
	p.Restore()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != "ping\n" {
		t.Fatalf("after restoring a stall: %q, %v; want the held echo", got, err)
	}
}
