package server_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/config"
	"example.com/shop/internal/connlimit"
	"example.com/shop/internal/items"
	"example.com/shop/internal/limiter"
	"example.com/shop/internal/server"
)

// grpcClient returns a well-behaved client of tg's gRPC port.
func grpcClient(t *testing.T, tg *target) (*grpc.ClientConn, shopv1.ItemsServiceClient) {
	t.Helper()
	cc, err := grpc.NewClient(tg.srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial gRPC: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc, shopv1.NewItemsServiceClient(cc)
}

// getItem is the full method name of GetItem, for hand-made requests.
var getItem = "/" + shopv1.ItemsService_ServiceDesc.ServiceName + "/GetItem"

// openCall starts a gRPC call on c and sends no message, so the server holds
// the stream open waiting for one.
func (c *rawH2C) openCall(t *testing.T, id uint32) {
	t.Helper()
	block := c.block(":method", "POST", ":scheme", "http", ":authority", "grpc.example", ":path", getItem,
		"content-type", "application/grpc", "te", "trailers")
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

func TestGRPCStreamLimitIsAdvertisedAndEnforced(t *testing.T) {
	t.Parallel()
	const streams = 4
	tg := startTarget(t, newProbeStore(holdIgnoringContext), func(c *config.Config) { c.GRPCMaxConcurrentStreams = streams })
	t.Cleanup(tg.store.releaseAll)

	c := dialH2C(t, tg.srv.GRPCAddr())
	if got := c.settings[http2.SettingMaxConcurrentStreams]; got != streams {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d, want the configured %d", got, streams)
	}
	// A client that ignores the advertised limit: the stream past it is refused.
	for i := range streams + 1 {
		c.openCall(t, uint32(2*i+1))
	}
	refused := uint32(2*streams + 1)
	timeout := time.After(slack)
	for done := false; !done; {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatal("connection closed instead of refusing one stream")
			}
			if rst, isRST := f.Frame.(*http2.RSTStreamFrame); isRST {
				if rst.StreamID != refused || rst.ErrCode != http2.ErrCodeRefusedStream {
					t.Fatalf("RST_STREAM %v on stream %d; want REFUSED_STREAM on stream %d only", rst.ErrCode, rst.StreamID, refused)
				}
				done = true
			}
		case <-timeout:
			t.Fatalf("stream %d over the limit of %d was not refused", refused, streams)
		}
	}

	// A well-behaved client queues its calls: the handlers running at once
	// on one connection never exceed the limit.
	_, client := grpcClient(t, tg)
	var wg sync.WaitGroup
	errs := make(chan error, 2*streams)
	for range 2 * streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := client.GetItem(context.Background(), &shopv1.GetItemRequest{Id: items.NewID()})
			errs <- err
		}()
	}
	for range streams {
		<-tg.store.entered
	}
	tg.store.releaseAll()
	wg.Wait()
	close(errs)
	for err := range errs {
		if status.Code(err) != codes.NotFound {
			t.Fatalf("queued call: %v, want NotFound", err)
		}
	}
	if peak := tg.store.peak.Load(); peak > streams {
		t.Fatalf("%d handlers ran at once; the stream limit is %d", peak, streams)
	}
}

func TestGRPCPingFloodGetsTooManyPingsAndOthersStayConnected(t *testing.T) {
	t.Parallel()
	tg := startTarget(t, newProbeStore(answerNotFound), nil)
	cc, client := grpcClient(t, tg)
	if _, err := client.GetItem(t.Context(), &shopv1.GetItemRequest{Id: items.NewID()}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetItem: %v, want NotFound", err)
	}

	// Pings far more often than the enforcement policy's minimum interval.
	abusive := dialH2C(t, tg.srv.GRPCAddr())
	for i := range 10 {
		if err := abusive.fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			break // already closed
		}
	}
	code, debug := abusive.awaitGoAway(t)
	if code != http2.ErrCodeEnhanceYourCalm || debug != "too_many_pings" {
		t.Fatalf("ping flood: GOAWAY %v %q, want ENHANCE_YOUR_CALM \"too_many_pings\"", code, debug)
	}

	// The well-behaved client kept its connection.
	if st := cc.GetState(); st != connectivity.Ready {
		t.Fatalf("well-behaved client's connection is %v, want READY", st)
	}
	if _, err := client.GetItem(t.Context(), &shopv1.GetItemRequest{Id: items.NewID()}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetItem after the flood: %v, want NotFound", err)
	}
}

// TestGRPCStoreTimeoutEndsTheCall stalls the store under a call that sets
// no deadline: the store timeout ends the store call, the client gets
// DEADLINE_EXCEEDED, and the concurrency limiter counts it as overload.
func TestGRPCStoreTimeoutEndsTheCall(t *testing.T) {
	t.Parallel()
	const storeTimeout = 200 * time.Millisecond
	lim, err := limiter.New(limiter.Options{Max: 100, Initial: 100, Backoff: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	tg := startTarget(t, newProbeStore(waitForCancel), func(c *config.Config) { c.StoreTimeout = storeTimeout }, server.WithLimiter(lim))
	_, client := grpcClient(t, tg)

	// The call sets no deadline: a server that does not bound the store
	// call fails the test instead of hanging it.
	answer := make(chan error, 1)
	go func() {
		_, err := client.GetItem(context.Background(), &shopv1.GetItemRequest{Id: items.NewID()})
		answer <- err
	}()
	select {
	case err := <-answer:
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("call whose store call stalled: %v, want DeadlineExceeded", err)
		}
	case <-time.After(storeTimeout + slack):
		t.Fatalf("the call did not end within %s of the %s store timeout", slack, storeTimeout)
	}
	if err := <-tg.store.ctxErr; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the store saw %v, want context.DeadlineExceeded", err)
	}
	// The interceptor releases the slot before the answer is sent.
	if got := lim.Limit(); got != 50 {
		t.Fatalf("concurrency limit = %d after a store timeout, want 50: DEADLINE_EXCEEDED must count as overload", got)
	}
}

// TestGRPCClientDeadlineAndCancellationReachTheStore: with the store
// timeout beyond what the test waits, a client's own deadline and its
// cancellation end the handler's context, and so the store call.
func TestGRPCClientDeadlineAndCancellationReachTheStore(t *testing.T) {
	t.Parallel()
	tg := startTarget(t, newProbeStore(waitForCancel), func(c *config.Config) {
		c.StoreTimeout = 2 * slack
		c.WriteTimeout = 3 * slack
	})
	_, client := grpcClient(t, tg)
	storeSaw := func() error {
		t.Helper()
		select {
		case err := <-tg.store.ctxErr:
			return err
		case <-time.After(slack):
			t.Fatal("the store call did not end")
			return nil
		}
	}

	// The client's deadline is far sooner than the store timeout: it wins.
	// The server's copy of the deadline and the client's reset of the
	// stream race to end the handler's context, so either error may come;
	// what matters is that it comes long before the store timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := client.GetItem(ctx, &shopv1.GetItemRequest{Id: items.NewID()})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("call past the client's deadline: %v, want DeadlineExceeded", err)
	}
	if err := storeSaw(); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Fatalf("the store saw %v, want its context ended", err)
	}
	<-tg.store.entered // the first call's

	// The client goes away: the handler's context is cancelled.
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := client.GetItem(ctx, &shopv1.GetItemRequest{Id: items.NewID()})
		done <- err
	}()
	<-tg.store.entered
	cancel()
	if err := storeSaw(); !errors.Is(err, context.Canceled) {
		t.Fatalf("handler context ended with %v, want context.Canceled", err)
	}
	<-done
}

func TestGRPCOverloadIsShedWithRetryPushback(t *testing.T) {
	t.Parallel()
	const limit = 2
	lim, err := limiter.New(limiter.Options{Max: limit, Initial: limit})
	if err != nil {
		t.Fatal(err)
	}
	tg := startTarget(t, newProbeStore(holdIgnoringContext), nil, server.WithLimiter(lim))
	t.Cleanup(tg.store.releaseAll)
	cc, client := grpcClient(t, tg)
	get := func(ctx context.Context, opts ...grpc.CallOption) error {
		_, err := client.GetItem(ctx, &shopv1.GetItemRequest{Id: items.NewID()}, opts...)
		return err
	}

	// Up to the limit: every call is admitted.
	held := make(chan error, limit)
	for range limit {
		go func() { held <- get(context.Background()) }()
	}
	for range limit {
		select {
		case <-tg.store.entered:
		case <-time.After(slack):
			t.Fatalf("calls under the limit were not all admitted; %d shed", lim.Shed())
		}
	}

	// Past it: RESOURCE_EXHAUSTED with a retry pushback, before the handler.
	var trailer metadata.MD
	err = get(t.Context(), grpc.Trailer(&trailer))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("call past the limit: %v, want ResourceExhausted", err)
	}
	pushback := trailer.Get("grpc-retry-pushback-ms")
	if len(pushback) != 1 {
		t.Fatalf("grpc-retry-pushback-ms = %q, want one value", pushback)
	}
	if ms, err := strconv.Atoi(pushback[0]); err != nil || ms <= 0 {
		t.Fatalf("grpc-retry-pushback-ms = %q, want a positive number of milliseconds", pushback[0])
	}
	if n := tg.store.calls.Load(); n != limit {
		t.Fatalf("the handler ran %d times, want %d: a shed call reached it", n, limit)
	}

	// Health checks and the admin port are never shed.
	if _, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health check under overload: %v", err)
	}
	if got := statusOf(t, tg.client, http.MethodGet, "http://"+tg.srv.AdminAddr()+"/metrics"); got != http.StatusOK {
		t.Fatalf("admin /metrics under overload: status %d, want 200", got)
	}

	// The load drops: the held calls finish and new ones are admitted.
	tg.store.releaseAll()
	for range limit {
		if err := <-held; status.Code(err) != codes.NotFound {
			t.Fatalf("admitted call: %v, want its NotFound", err)
		}
	}
	tg.store.mode.Store(int32(answerNotFound))
	shed := lim.Shed()
	for i := range 3 * limit {
		if err := get(t.Context()); status.Code(err) != codes.NotFound {
			t.Fatalf("call %d after the load dropped: %v, want NotFound", i, err)
		}
	}
	if n := lim.Shed() - shed; n != 0 {
		t.Fatalf("%d calls shed after the load dropped", n)
	}
}

// TestGRPCConnectionFloodStaysWithinTheBudget opens eight times more
// connections to the gRPC port than the connection budget holds: those
// past it are closed on arrival, the open count never passes the cap, and
// the admin port, outside the budget, keeps answering its probes. Once the
// flood ends, a client connects and is served again.
func TestGRPCConnectionFloodStaysWithinTheBudget(t *testing.T) {
	t.Parallel()
	const budgetCap = 8
	budget, err := connlimit.New(budgetCap)
	if err != nil {
		t.Fatal(err)
	}
	tg := startTarget(t, newProbeStore(answerNotFound), nil, server.WithConnBudget(budget))

	flood := make([]net.Conn, 0, 8*budgetCap)
	t.Cleanup(func() {
		for _, c := range flood {
			_ = c.Close()
		}
	})
	for range cap(flood) {
		c, err := net.Dial("tcp", tg.srv.GRPCAddr())
		if err != nil {
			t.Fatalf("dial the gRPC port: %v", err)
		}
		flood = append(flood, c)
	}
	// A refused connection is closed by the server at once; an admitted
	// one gets the server's HTTP/2 settings or nothing until the deadline.
	refused := 0
	buf := make([]byte, 64)
	for _, c := range flood {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		var netErr net.Error
		timedOut := errors.As(err, &netErr) && netErr.Timeout()
		if n == 0 && err != nil && !timedOut {
			refused++
		}
	}
	if want := len(flood) - budgetCap; refused != want {
		t.Errorf("%d of %d flood connections were closed on arrival, want %d (all past the cap of %d)", refused, len(flood), want, budgetCap)
	}
	if open := budget.Open(); open > budgetCap {
		t.Errorf("%d connections open, over the cap of %d", open, budgetCap)
	}

	admin := &http.Client{Timeout: 2 * time.Second}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := admin.Get("http://" + tg.srv.AdminAddr() + path)
		if err != nil {
			t.Fatalf("admin %s during the flood: %v", path, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("admin %s during the flood = %d, want 200", path, resp.StatusCode)
		}
	}

	for _, c := range flood {
		_ = c.Close()
	}
	for end := time.Now().Add(5 * time.Second); budget.Open() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%d connections still counted 5s after the flood closed them", budget.Open())
		}
	}
	_, client := grpcClient(t, tg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client.GetItem(ctx, &shopv1.GetItemRequest{Id: items.NewID()}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetItem after the flood: %v, want NotFound", err)
	}
}

// TestGRPCIdleConnectionIsClosedAndFreesItsSlot holds a gRPC connection with
// no call in progress past IdleTimeout: the server closes it, which gives
// its slot of the connection budget back, and the client's next call
// reconnects and is served. A connection with a call in progress is not
// idle, however long the call: a held call outlives IdleTimeout.
func TestGRPCIdleConnectionIsClosedAndFreesItsSlot(t *testing.T) {
	t.Parallel()
	const idleTimeout = 300 * time.Millisecond
	budget, err := connlimit.New(4)
	if err != nil {
		t.Fatal(err)
	}
	store := newProbeStore(holdIgnoringContext)
	t.Cleanup(store.releaseAll)
	tg := startTarget(t, store, func(c *config.Config) { c.IdleTimeout = idleTimeout }, server.WithConnBudget(budget))
	_, client := grpcClient(t, tg)

	// A call held past IdleTimeout keeps its connection open.
	held := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := client.GetItem(ctx, &shopv1.GetItemRequest{Id: items.NewID()})
		held <- err
	}()
	select {
	case <-store.entered:
	case <-time.After(slack):
		t.Fatal("the held GetItem never reached the store")
	}
	time.Sleep(3 * idleTimeout)
	if open := budget.Open(); open != 1 {
		t.Fatalf("%d connections counted while a call is in progress past IdleTimeout, want 1", open)
	}
	store.releaseAll()
	if err := <-held; status.Code(err) != codes.NotFound {
		t.Fatalf("held GetItem: %v, want NotFound once released", err)
	}

	// Idle now: closed after IdleTimeout, and its slot is free again.
	began := time.Now()
	for budget.Open() > 0 {
		if time.Since(began) > 20*idleTimeout {
			t.Fatalf("an idle gRPC connection still counted %s after its last call; IdleTimeout is %s", time.Since(began).Round(time.Millisecond), idleTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client.GetItem(ctx, &shopv1.GetItemRequest{Id: items.NewID()}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetItem after the idle close: %v, want NotFound (the client reconnects)", err)
	}
}
