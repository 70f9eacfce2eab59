//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSheddingTellsSlownessFromOverload builds the default golden project
// with the slow-handler hook (every request takes 150ms, over the 100ms
// -shed-latency) and a ceiling of 64 requests in flight, then drives it
// with 300 clients and with 4. A limiter that took the slow handler for
// overload collapsed to one request in flight and shed nearly everything,
// even at 4 clients; this one must shed with 503 and Retry-After past its
// ceiling while serving at about its capacity (64 / 150ms, 427 requests a
// second), count the shed requests under their route, and shed nothing at 4
// clients.
func TestSheddingTellsSlownessFromOverload(t *testing.T) {
	dir := preparedGolden(t, "default")
	bin := filepath.Join(t.TempDir(), "demo")
	goCmd(t, dir, 5*time.Minute, "build", "-tags", "loadtest_slow", "-o", bin, "./cmd/demo")

	addrs := freeAddrs(t, 3) // http, grpc, admin
	httpAddr, adminAddr := addrs[0], addrs[2]
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-grpc-addr", addrs[1], "-admin-addr", adminAddr, "-max-concurrency", "64")
	cmd.Env = append(os.Environ(), "DEMO_LOADTEST_DELAY=150ms")
	startLogged(t, cmd, "service")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 400}}
	ready := false
	for end := time.Now().Add(30 * time.Second); !ready && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if resp, err := client.Get("http://" + adminAddr + "/readyz"); err == nil {
			ready = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
	}
	require.True(t, ready, "the service did not become ready")

	resp, err := client.Post("http://"+httpAddr+"/v1/items", "application/json", strings.NewReader(`{"name":"widget","quantity":1}`))
	require.NoError(t, err)
	var item struct{ ID string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&item))
	resp.Body.Close()
	url := "http://" + httpAddr + "/v1/items/" + item.ID

	// drive runs clients back-to-back GET loops for d and counts the
	// answers.
	type counts struct {
		ok, shed   int
		retryAfter string
		other      []string
	}
	drive := func(clients int, d time.Duration) counts {
		var mu sync.Mutex
		var c counts
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
					resp, err := client.Do(req)
					if err != nil {
						if ctx.Err() == nil {
							mu.Lock()
							c.other = append(c.other, err.Error())
							mu.Unlock()
						}
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mu.Lock()
					switch resp.StatusCode {
					case http.StatusOK:
						c.ok++
					case http.StatusServiceUnavailable:
						c.shed++
						c.retryAfter = resp.Header.Get("Retry-After")
					default:
						c.other = append(c.other, resp.Status)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return c
	}

	drive(300, 2*time.Second) // the limit settles
	over := drive(300, 3*time.Second)
	t.Logf("300 clients for 3s: %d served (%.0f/s), %d shed", over.ok, float64(over.ok)/3, over.shed)
	assert.Empty(t, over.other, "answers other than 200 and 503")
	assert.Positive(t, over.shed, "300 clients past a ceiling of 64 were not shed")
	assert.Equal(t, "1", over.retryAfter, "a shed request's Retry-After")
	// Capacity is 64 / 150ms = 427/s; a collapsed limit serves a few.
	assert.Greater(t, float64(over.ok)/3, 200.0, "served under overload, per second, far below the capacity of 427/s")

	light := drive(4, 3*time.Second)
	t.Logf("4 clients for 3s: %d served, %d shed", light.ok, light.shed)
	assert.Zero(t, light.shed, "requests shed at 4 clients, far within capacity")
	assert.Positive(t, light.ok)
	assert.Empty(t, light.other)

	resp, err = client.Get("http://" + adminAddr + "/metrics")
	require.NoError(t, err)
	metrics, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	shedUnder := func(route string) bool {
		return strings.Contains(string(metrics), fmt.Sprintf(`demo_http_requests_total{code="5xx",method="GET",route=%q}`, route))
	}
	assert.True(t, shedUnder("GET /v1/items/{id}"), "shed requests are not counted under their route")
	assert.False(t, shedUnder("unmatched"), "shed requests are counted as unmatched")
}
