package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/http2"

	"example.com/minimal/internal/config"
	"example.com/minimal/internal/items"
	"example.com/minimal/internal/limiter"
	"example.com/minimal/internal/metrics"
	"example.com/minimal/internal/server"
)

// The h2c flow-control windows and frame size server.go configures.
const (
	wantStreamWindow = 1 << 20
	wantConnWindow   = 2 << 20
	wantMaxFrameSize = 1 << 20
)

// TestSlowlorisIsCutAtReadHeaderTimeout is the one test of the package that
// is not parallel: its leak check compares every goroutine in the process,
// so it runs alone, before the parallel tests start.
func TestSlowlorisIsCutAtReadHeaderTimeout(t *testing.T) {
	// Registered first so it runs last, after the server has stopped.
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })

	const readHeaderTimeout = 250 * time.Millisecond
	// One header byte every trickle: the whole request would take longer
	// than the test waits, however late the server cuts it.
	const trickle = 100 * time.Millisecond
	tg := startTarget(t, newProbeStore(answerNotFound), func(c *config.Config) { c.ReadHeaderTimeout = readHeaderTimeout })
	conn, err := net.Dial("tcp", tg.srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	answer := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(conn) // until the server closes the connection
		answer <- b
	}()
	request := "GET /v1/items/" + items.NewID() + " HTTP/1.1\r\nHost: slow.example\r\nUser-Agent: slowloris\r\n\r\n"
	began := time.Now()
	var got []byte
	sent := 0
send:
	for sent < len(request) {
		if _, err := conn.Write([]byte{request[sent]}); err != nil {
			break // closed under us: what the protection does
		}
		sent++
		select {
		case got = <-answer:
			break send
		case <-time.After(trickle):
		}
		if time.Since(began) > readHeaderTimeout+slack {
			t.Fatalf("connection still open after %s and %d header bytes; ReadHeaderTimeout is %s", time.Since(began).Round(time.Millisecond), sent, readHeaderTimeout)
		}
	}
	if got == nil {
		select {
		case got = <-answer:
		case <-time.After(readHeaderTimeout + slack):
			t.Fatal("the server never closed the slow connection")
		}
	}
	if sent == len(request) {
		t.Fatalf("the server read the whole slow request (%d bytes over %s)", sent, time.Since(began))
	}
	if bytes.Contains(got, []byte(" 404 ")) || bytes.Contains(got, []byte(" 200 ")) {
		t.Fatalf("the slow request was answered: %q", got)
	}
	if n := tg.store.calls.Load(); n != 0 {
		t.Fatalf("the handler ran %d times for a request whose headers never arrived", n)
	}
}

// The connections' deadlines are enforced by a sweeper (deadline.go), not a
// timer per request; these tests hold each timeout to its promise through
// the whole server.

// A stalled request body is cut at ReadTimeout over both protocols: over
// HTTP/1.1 the connection's read deadline closes the connection; over h2c
// net/http holds it with a timer per stream, so the handler's read fails,
// the stream is answered with an error, and the connection's other streams
// are still served. The store is never called.
func TestSlowBodyIsCutAtReadTimeout(t *testing.T) {
	t.Parallel()
	const readTimeout = 250 * time.Millisecond
	tg := startTarget(t, newProbeStore(answerNotFound), func(c *config.Config) {
		c.ReadHeaderTimeout = readTimeout
		c.ReadTimeout = readTimeout
	})
	// Each request's headers promise 100 bytes of body; 9 arrive, then
	// nothing.
	const body = `{"name":"`
	t.Run("HTTP/1.1", func(t *testing.T) {
		t.Parallel()
		conn, err := net.Dial("tcp", tg.srv.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := fmt.Fprintf(conn, "POST /v1/items HTTP/1.1\r\nHost: slow.example\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n%s", body); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		if err := conn.SetReadDeadline(began.Add(readTimeout + slack)); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(conn) // until the server closes the connection
		if err != nil {
			t.Fatalf("connection still open %s after a stalled body; ReadTimeout is %s (read %q: %v)", time.Since(began).Round(time.Millisecond), readTimeout, got, err)
		}
		if bytes.Contains(got, []byte(" 201 ")) {
			t.Fatalf("the request with a stalled body was served: %q", got)
		}
	})
	t.Run("h2c", func(t *testing.T) {
		t.Parallel()
		c := dialH2C(t, tg.srv.HTTPAddr())
		post := c.block(":method", "POST", ":scheme", "http", ":authority", "h2c.example", ":path", "/v1/items",
			"content-type", "application/json", "content-length", "100")
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: post, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		if err := c.fr.WriteData(1, false, []byte(body)); err != nil {
			t.Fatal(err)
		}
		if status := awaitStatus(t, c, 1); status == "" || status[0] != '4' && status[0] != '5' {
			t.Fatalf("the request with a stalled body was answered %q, want an error status", status)
		}
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: c.get("/healthz"), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		if status := awaitStatus(t, c, 3); status != "200" {
			t.Fatalf("GET /healthz on the same connection answered %q after the stalled stream, want 200", status)
		}
	})
	t.Cleanup(func() {
		if n := tg.store.calls.Load(); n != 0 {
			t.Errorf("the store was called %d times for bodies that never arrived", n)
		}
	})
}

func TestIdleKeepAliveIsClosedAtIdleTimeout(t *testing.T) {
	t.Parallel()
	const idleTimeout = time.Second
	tg := startTarget(t, newProbeStore(answerNotFound), func(c *config.Config) { c.IdleTimeout = idleTimeout })
	conn, err := net.Dial("tcp", tg.srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	// Two requests on the connection: the second proves the first one's
	// deadlines were cleared, then the connection idles.
	for range 2 {
		if _, err := fmt.Fprintf(conn, "GET /v1/items/%s HTTP/1.1\r\nHost: idle.example\r\n\r\n", items.NewID()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("read the answer: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
	}
	began := time.Now()
	if err := conn.SetReadDeadline(began.Add(idleTimeout + slack)); err != nil {
		t.Fatal(err)
	}
	if n, err := br.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %d bytes, %v after %s; want the server to close it (EOF) at IdleTimeout %s", n, err, time.Since(began).Round(time.Millisecond), idleTimeout)
	}
}

// A request is read within ReadTimeout, but its handler may run longer:
// net/http clears the read deadline once the request is read, and the
// coarse deadlines must not keep the old one.
func TestHandlerOutlivesReadTimeout(t *testing.T) {
	t.Parallel()
	const readTimeout = 300 * time.Millisecond
	store := newProbeStore(holdIgnoringContext)
	tg := startTarget(t, store, func(c *config.Config) {
		c.ReadHeaderTimeout = readTimeout
		c.ReadTimeout = readTimeout
	})
	t.Cleanup(store.releaseAll)
	answered := make(chan error, 1)
	go func() {
		resp, err := tg.client.Get("http://" + tg.srv.HTTPAddr() + "/v1/items/" + items.NewID())
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				err = fmt.Errorf("status %d, want 404", resp.StatusCode)
			}
		}
		answered <- err
	}()
	select {
	case <-store.entered:
	case <-time.After(slack):
		t.Fatal("the request never reached the store")
	}
	time.Sleep(3 * readTimeout) // past every read deadline of the request
	store.releaseAll()
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("a handler that ran past ReadTimeout lost its answer: %v", err)
		}
	case <-time.After(slack):
		t.Fatal("no answer after the store returned")
	}
}

func TestOversizeHeadersHTTP1Get431AndMemoryStaysBounded(t *testing.T) {
	t.Parallel()
	const maxHeader = 8 << 10
	tg := startTarget(t, newProbeStore(answerNotFound), func(c *config.Config) { c.MaxHeaderBytes = maxHeader })
	url := "http://" + tg.srv.HTTPAddr() + "/v1/items/" + items.NewID()

	// Under the limit: answered normally.
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-Pad", strings.Repeat("a", maxHeader/2))
	resp, err := tg.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("headers under the limit: status %d, want the handler's 404", resp.StatusCode)
	}

	// An endless header: answered 431 and cut off, so the server holds at
	// most MaxHeaderBytes of it whatever the client sends.
	conn, err := net.Dial("tcp", tg.srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	statusc := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			statusc <- 0
			return
		}
		statusc <- resp.StatusCode
	}()
	const giveUp = 256 << 20 // far beyond any socket buffer
	line := []byte("X-Pad: " + strings.Repeat("b", 1000) + "\r\n")
	sent, _ := conn.Write([]byte("GET /v1/items/" + items.NewID() + " HTTP/1.1\r\nHost: big.example\r\n"))
	for sent < giveUp {
		n, err := conn.Write(line)
		sent += n
		if err != nil {
			break
		}
	}
	if sent >= giveUp {
		t.Fatalf("the server kept reading a %d MiB header; MaxHeaderBytes is %d", giveUp>>20, maxHeader)
	}
	select {
	case code := <-statusc:
		if code != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("oversize header: status %d, want 431", code)
		}
	case <-time.After(slack):
		t.Fatal("no answer to an oversize header")
	}
	if n := tg.store.calls.Load(); n != 1 {
		t.Fatalf("the handler ran %d times; want once, for the request under the limit", n)
	}
}

func TestOversizeBodyWithContentLengthGets413Unread(t *testing.T) {
	t.Parallel()
	const maxBody = 1 << 10
	tg := startTarget(t, newProbeStore(answerNotFound), func(c *config.Config) { c.MaxBodyBytes = maxBody })
	// Just over the limit, and far over it: the body is announced and never
	// sent, so an answer proves it was not read.
	for _, length := range []int{2 * maxBody, 100 << 20} {
		t.Run(fmt.Sprint(length), func(t *testing.T) {
			conn, err := net.Dial("tcp", tg.srv.HTTPAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /v1/items HTTP/1.1\r\nHost: big.example\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", length)
			_ = conn.SetReadDeadline(time.Now().Add(slack))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer before the body was sent: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("Content-Length over the limit: status %d, want 413", resp.StatusCode)
			}
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
				t.Fatalf("connection not closed after refusing an unread body: %v", err)
			}
		})
	}
}

func TestOversizeChunkedBodyGets413OnceItCrossesTheLimit(t *testing.T) {
	t.Parallel()
	const maxBody = 4 << 10
	tg := startTarget(t, newProbeStore(answerNotFound), func(c *config.Config) { c.MaxBodyBytes = maxBody })
	url := "http://" + tg.srv.HTTPAddr() + "/v1/items"

	// Under the limit, chunked: accepted.
	small := io.MultiReader(strings.NewReader(`{"name":"` + strings.Repeat("s", 100) + `"}`))
	resp, err := tg.client.Post(url, "application/json", small) // unknown length: chunked
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chunked body under the limit: status %d, want 200", resp.StatusCode)
	}

	conn, err := net.Dial("tcp", tg.srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	type answer struct {
		resp *http.Response
		br   *bufio.Reader
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		answers <- answer{resp, br, err}
	}()
	fmt.Fprint(conn, "POST /v1/items HTTP/1.1\r\nHost: big.example\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
	chunk := func(p string) error {
		_, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", len(p), p)
		return err
	}
	// A JSON string that never ends, 256 bytes a chunk, until the answer.
	sent := 0
	var got answer
	_ = chunk(`{"name":"`)
	for got.resp == nil && got.err == nil {
		if sent > 16*maxBody {
			t.Fatalf("sent %d bytes of a %d-byte limit with no answer", sent, maxBody)
		}
		if err := chunk(strings.Repeat("g", 256)); err == nil {
			sent += 256
		}
		select {
		case got = <-answers:
		case <-time.After(time.Millisecond):
		}
	}
	if got.err != nil {
		t.Fatalf("reading the answer: %v", got.err)
	}
	if got.resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked body past the limit: status %d, want 413", got.resp.StatusCode)
	}
	if sent < maxBody-256 {
		t.Fatalf("refused after %d bytes, before the body reached the %d-byte limit", sent, maxBody)
	}
	_ = conn.SetReadDeadline(time.Now().Add(slack))
	if _, err := got.br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("connection not closed after an oversize chunked body: %v", err)
	}
}

// TestStoreTimeoutAnswers504 stalls the store. The request has no deadline
// of its own; the store timeout ends the store call, the client gets 504,
// and the concurrency limiter, reading the status the metrics middleware
// records, counts the timeout as overload.
func TestStoreTimeoutAnswers504(t *testing.T) {
	t.Parallel()
	const storeTimeout = 200 * time.Millisecond
	lim, err := limiter.New(limiter.Options{Max: 100, Initial: 100, Backoff: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	tg := startTarget(t, newProbeStore(waitForCancel), func(c *config.Config) { c.StoreTimeout = storeTimeout }, server.WithLimiter(lim))
	// The client gives up only well after the store timeout, so a server
	// that does not bound the store call fails the test instead of
	// hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout+slack)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+tg.srv.HTTPAddr()+"/v1/items/"+items.NewID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	resp, err := tg.client.Do(req)
	if err != nil {
		t.Fatalf("no answer within %s of the %s store timeout: %v", slack, storeTimeout, err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"error":"request timed out","code":"DEADLINE_EXCEEDED"}` + "\n"
	if resp.StatusCode != http.StatusGatewayTimeout || string(body) != want {
		t.Fatalf("request whose store call stalled: %d %q, want 504 %q", resp.StatusCode, body, want)
	}
	if took := time.Since(began); took > storeTimeout+slack {
		t.Fatalf("the timeout answer took %s; StoreTimeout is %s", took, storeTimeout)
	}
	if err := <-tg.store.ctxErr; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the store saw %v, want context.DeadlineExceeded", err)
	}
	// The slot is released as the handler returns, which is before the
	// answer leaves; wait a little all the same.
	for end := time.Now().Add(slack); lim.Limit() == 100 && time.Now().Before(end); time.Sleep(time.Millisecond) {
	}
	if got := lim.Limit(); got != 50 {
		t.Fatalf("concurrency limit = %d after a store timeout, want 50: a 504 must count as overload", got)
	}
}

func TestClientDisconnectCancelsTheHandlerContext(t *testing.T) {
	t.Parallel()
	tg := startTarget(t, newProbeStore(waitForCancel), nil)
	for name, client := range map[string]*http.Client{"HTTP/1.1": tg.client, "h2c": h2cClient(t)} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+tg.srv.HTTPAddr()+"/v1/items/"+items.NewID(), nil)
			errc := make(chan error, 1)
			go func() {
				resp, err := client.Do(req)
				if err == nil {
					_ = resp.Body.Close()
				}
				errc <- err
			}()
			<-tg.store.entered
			cancel() // the client goes away
			select {
			case err := <-tg.store.ctxErr:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("handler context ended with %v, want context.Canceled", err)
				}
			case <-time.After(slack):
				t.Fatal("the handler's context was not cancelled after the client went away")
			}
			<-errc
		})
	}
}

func TestPanicLeavesConcurrentStreamsServed(t *testing.T) {
	t.Parallel()
	tg := startTarget(t, newProbeStore(holdIgnoringContext), nil)
	client := h2cClient(t)
	base := "http://" + tg.srv.HTTPAddr() + "/v1/items/"
	held := make(chan int, 1)
	go func() {
		resp, err := client.Get(base + items.NewID())
		if err != nil {
			held <- 0
			return
		}
		_ = resp.Body.Close()
		held <- resp.StatusCode
	}()
	<-tg.store.entered
	// Same connection, another stream: this one panics.
	if got := statusOf(t, client, http.MethodGet, base+panicID); got != http.StatusInternalServerError {
		t.Fatalf("panicking handler: status %d, want 500", got)
	}
	tg.store.releaseAll()
	if got := <-held; got != http.StatusNotFound {
		t.Fatalf("the request in flight beside a panic: status %d, want its 404", got)
	}
	families, err := tg.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == metrics.Namespace+"_panics_recovered_total" {
			if v := f.GetMetric()[0].GetCounter().GetValue(); v != 1 {
				t.Fatalf("panics counted: %v, want 1", v)
			}
			return
		}
	}
	t.Fatal("no panic counter registered")
}

func TestMetricsCardinalityStaysBounded(t *testing.T) {
	t.Parallel()
	tg := startTarget(t, newProbeStore(answerNotFound), nil)
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, "BREW", "PROPFIND", "M-SEARCH"}
	// A quarter of the requests bring a method never seen before, and every
	// one a fresh path: 500 distinct methods and 2,000 paths, far past the
	// bound, would each be a series if a label leaked.
	const requests = 2_000
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range requests / 4 {
				method := methods[(i+w)%len(methods)]
				if i%4 == 0 {
					method = "X" + rand.Text()[:8] // a fresh method every time
				}
				path := "/" + rand.Text() + "/" + items.NewID()
				if i%3 == 0 {
					path = "/v1/items/" + items.NewID() + path // under a real prefix
				}
				req, _ := http.NewRequest(method, "http://"+tg.srv.HTTPAddr()+path, nil)
				resp, err := tg.client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	series := requestSeries(t, tg.metrics)
	standard := map[string]bool{"other": true}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace} {
		standard[m] = true
	}
	classes := map[string]bool{"1xx": true, "2xx": true, "3xx": true, "4xx": true, "5xx": true, "other": true}
	for _, s := range series {
		if s["route"] != metrics.UnmatchedRoute {
			t.Errorf("series %v: random paths must share the %q route", s, metrics.UnmatchedRoute)
		}
		if !standard[s["method"]] || !classes[s["code"]] {
			t.Errorf("series %v: method or status class outside the fixed set", s)
		}
	}
	if bound := 1 * len(standard) * len(classes); len(series) > bound {
		t.Fatalf("%d request series after %d random requests, want at most routes x methods x classes = %d", len(series), requests, bound)
	}
	if len(series) == 0 {
		t.Fatal("no request series recorded")
	}
}

// requestSeries returns the label sets of the HTTP request counter.
func requestSeries(t *testing.T, m *metrics.Metrics) []map[string]string {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	var series []map[string]string
	for _, f := range families {
		if f.GetName() != metrics.Namespace+"_http_requests_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			series = append(series, labels)
		}
	}
	return series
}

// get returns a complete GET request header block for path.
func (c *rawH2C) get(path string, extra ...string) []byte {
	return c.block(append([]string{":method", "GET", ":scheme", "http", ":authority", "h2c.example", ":path", path}, extra...)...)
}

// h2cClient returns a client that speaks HTTP/2 with prior knowledge.
func h2cClient(t *testing.T) *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func TestH2CAdvertisesConfiguredLimits(t *testing.T) {
	t.Parallel()
	const streams, maxHeader = 77, 16 << 10
	tg := startTarget(t, newProbeStore(answerNotFound), func(c *config.Config) {
		c.MaxConcurrentStreams, c.MaxHeaderBytes = streams, maxHeader
	})
	c := dialH2C(t, tg.srv.HTTPAddr())
	if got := c.settings[http2.SettingMaxConcurrentStreams]; got != streams {
		t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS = %d, want the configured %d", got, streams)
	}
	// net/http pads the HTTP/1 limit by 32 bytes for each of ten fields, the
	// per-field overhead HTTP/2 counts.
	if got := c.settings[http2.SettingMaxHeaderListSize]; got < maxHeader || got > maxHeader+1024 {
		t.Errorf("SETTINGS_MAX_HEADER_LIST_SIZE = %d, want the configured %d plus the per-field overhead", got, maxHeader)
	}
	if got := c.settings[http2.SettingInitialWindowSize]; got != wantStreamWindow {
		t.Errorf("SETTINGS_INITIAL_WINDOW_SIZE = %d, want %d", got, wantStreamWindow)
	}
	if got := c.settings[http2.SettingMaxFrameSize]; got != wantMaxFrameSize {
		t.Errorf("SETTINGS_MAX_FRAME_SIZE = %d, want %d", got, wantMaxFrameSize)
	}
	// The connection window grows from the protocol's 65535 to its target.
	timeout := time.After(slack)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatal("connection closed before the connection-level WINDOW_UPDATE")
			}
			if wu, isWU := f.Frame.(*http2.WindowUpdateFrame); isWU && wu.StreamID == 0 {
				if got := 65535 + wu.Increment; got != wantConnWindow {
					t.Errorf("connection window = %d, want %d", got, wantConnWindow)
				}
				return
			}
		case <-timeout:
			t.Fatal("no connection-level WINDOW_UPDATE")
		}
	}
}

func TestOversizeHeadersH2C(t *testing.T) {
	t.Parallel()
	const maxHeader = 8 << 10
	tg := startTarget(t, newProbeStore(answerNotFound), func(c *config.Config) { c.MaxHeaderBytes = maxHeader })

	t.Run("over the limit: 431 on the stream, connection kept", func(t *testing.T) {
		c := dialH2C(t, tg.srv.HTTPAddr())
		// Decoded it is larger than the limit; encoded it is small enough that
		// the server decodes it instead of dropping the connection.
		// No single field is over the limit: that is a decoding error, which
		// ends the connection.
		var pad []string
		for i := range 12 {
			pad = append(pad, fmt.Sprintf("x-pad-%d", i), strings.Repeat("p", 1000))
		}
		big := c.get("/v1/items/"+items.NewID(), pad...)
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: big, EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		if got := awaitStatus(t, c, 1); got != "431" {
			t.Fatalf("stream 1: status %s, want 431", got)
		}
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: c.get("/healthz"), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		if got := awaitStatus(t, c, 3); got != "200" {
			t.Fatalf("the next stream on the same connection: status %s, want 200", got)
		}
	})

	t.Run("far over the limit: GOAWAY", func(t *testing.T) {
		c := dialH2C(t, tg.srv.HTTPAddr())
		// A header block fragment larger than twice the limit is not decoded
		// at all.
		huge := c.get("/v1/items/"+items.NewID(), "x-pad", strings.Repeat("q", 3*maxHeader))
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: huge, EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		// Which connection error refuses it depends on the Go release: the
		// frame size check (PROTOCOL_ERROR), or, from go1.26.10, the HPACK
		// decoder's string limit (COMPRESSION_ERROR). Either way the
		// connection ends before a handler runs.
		if code, _ := c.awaitGoAway(t); code != http2.ErrCodeProtocol && code != http2.ErrCodeCompression {
			t.Fatalf("GOAWAY %v, want PROTOCOL_ERROR or COMPRESSION_ERROR", code)
		}
	})
	if n := tg.store.calls.Load(); n != 0 {
		t.Fatalf("the handler ran %d times for oversize headers", n)
	}
}

// awaitStatus returns the :status of the response on stream id.
func awaitStatus(t *testing.T, c *rawH2C, id uint32) string {
	t.Helper()
	timeout := time.After(slack)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatalf("connection closed before stream %d was answered", id)
			}
			if mh, isMH := f.Frame.(*http2.MetaHeadersFrame); isMH && mh.StreamID == id {
				return mh.PseudoValue("status")
			}
			if rst, isRST := f.Frame.(*http2.RSTStreamFrame); isRST && rst.StreamID == id {
				t.Fatalf("stream %d reset: %v", id, rst.ErrCode)
			}
		case <-timeout:
			t.Fatalf("stream %d not answered within %s", id, slack)
		}
	}
}

func TestH2CContinuationFloodGetsGOAWAY(t *testing.T) {
	t.Parallel()
	const maxHeader = 8 << 10
	tg := startTarget(t, newProbeStore(answerNotFound), func(c *config.Config) { c.MaxHeaderBytes = maxHeader })
	c := dialH2C(t, tg.srv.HTTPAddr())
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.get("/v1/items/" + items.NewID()), EndStream: true}); err != nil {
		t.Fatal(err)
	}
	// CONTINUATION frames that never end the header block (CVE-2023-45288).
	const giveUp = 256 << 20
	sent := 0
	for i := 0; sent < giveUp; i++ {
		frag := c.block(fmt.Sprintf("x-flood-%d", i), strings.Repeat("c", 1000))
		if err := c.fr.WriteContinuation(1, false, frag); err != nil {
			break
		}
		sent += len(frag)
	}
	if sent >= giveUp {
		t.Fatalf("the server read %d MiB of one header block; MaxHeaderBytes is %d", giveUp>>20, maxHeader)
	}
	if code, _ := c.awaitGoAway(t); code != http2.ErrCodeProtocol {
		t.Fatalf("GOAWAY %v, want PROTOCOL_ERROR", code)
	}
	if n := tg.store.calls.Load(); n != 0 {
		t.Fatalf("the handler ran %d times for a header block that never ended", n)
	}
}

func TestH2CRapidResetIsBounded(t *testing.T) {
	t.Parallel()
	const streams = 8
	tg := startTarget(t, newProbeStore(holdIgnoringContext), func(c *config.Config) { c.MaxConcurrentStreams = streams })
	t.Cleanup(tg.store.releaseAll) // runs before the server stops

	c := dialH2C(t, tg.srv.HTTPAddr())
	// Open and at once cancel stream after stream (CVE-2023-44487). The
	// handlers ignore cancellation, so each reset stream leaves work behind.
	for i := range 10_000 {
		id := uint32(2*i + 1)
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.get("/v1/items/" + items.NewID()), EndStream: true, EndHeaders: true}); err != nil {
			break
		}
		if err := c.fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
			break
		}
	}

	// Other clients are served meanwhile.
	if got := statusOf(t, h2cClient(t), http.MethodGet, "http://"+tg.srv.HTTPAddr()+"/healthz"); got != http.StatusOK {
		t.Fatalf("another client during the attack: status %d, want 200", got)
	}
	if got := statusOf(t, tg.client, http.MethodGet, "http://"+tg.srv.HTTPAddr()+"/healthz"); got != http.StatusOK {
		t.Fatalf("an HTTP/1.1 client during the attack: status %d, want 200", got)
	}
	if code, _ := c.awaitGoAway(t); code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("abusive connection got GOAWAY %v, want ENHANCE_YOUR_CALM", code)
	}
	if peak := tg.store.peak.Load(); peak > streams {
		t.Fatalf("%d handlers ran at once on one connection; MaxConcurrentStreams is %d", peak, streams)
	}
}

func TestOverloadIsShedBeforeTheHandler(t *testing.T) {
	t.Parallel()
	const limit = 4
	lim, err := limiter.New(limiter.Options{Max: limit, Initial: limit})
	if err != nil {
		t.Fatal(err)
	}
	tg := startTarget(t, newProbeStore(holdIgnoringContext), nil, server.WithLimiter(lim))
	t.Cleanup(tg.store.releaseAll)
	public, admin := "http://"+tg.srv.HTTPAddr(), "http://"+tg.srv.AdminAddr()

	// Up to the limit: every request is admitted.
	held := make(chan int, limit)
	for range limit {
		go func() { held <- statusOrZero(tg.client, public+"/v1/items/"+items.NewID()) }()
	}
	for range limit {
		select {
		case <-tg.store.entered:
		case <-time.After(slack):
			t.Fatalf("requests under the limit were not all admitted; %d shed", lim.Shed())
		}
	}

	// Past it: 503 with Retry-After, before the handler runs.
	resp, err := tg.client.Get(public + "/v1/items/" + items.NewID())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("request past the limit: status %d, want 503", resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q, want a whole number of seconds", resp.Header.Get("Retry-After"))
	}
	if n := tg.store.calls.Load(); n != limit {
		t.Fatalf("the handler ran %d times, want %d: a shed request reached it", n, limit)
	}

	// Health probes and the admin port are never shed.
	for _, url := range []string{public + "/healthz", public + "/readyz", admin + "/healthz", admin + "/readyz", admin + "/metrics"} {
		if got := statusOf(t, tg.client, http.MethodGet, url); got != http.StatusOK {
			t.Errorf("%s under overload: status %d, want 200", url, got)
		}
	}

	// The load drops: the held requests finish, and new ones are admitted
	// again.
	tg.store.releaseAll()
	for range limit {
		if got := <-held; got != http.StatusNotFound {
			t.Fatalf("admitted request: status %d, want its 404", got)
		}
	}
	tg.store.mode.Store(int32(answerNotFound))
	shed := lim.Shed()
	for i := range 3 * limit {
		if got := statusOf(t, tg.client, http.MethodGet, public+"/v1/items/"+items.NewID()); got != http.StatusNotFound {
			t.Fatalf("request %d after the load dropped: status %d, want 404", i, got)
		}
	}
	if n := lim.Shed() - shed; n != 0 {
		t.Fatalf("%d requests shed after the load dropped", n)
	}
}

// statusOrZero answers a GET with client, or 0 if it failed; for goroutines,
// which must not call t.Fatal.
func statusOrZero(client *http.Client, url string) int {
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}
