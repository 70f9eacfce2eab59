package deploycheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// TestQueriesNameExportedMetrics builds each golden case that has alert
// rules, runs it (the Postgres case on its own database when DATABASE_URL
// is set), sends it one request of every kind the queries watch (HTTP CRUD,
// a cached read, an upstream call, a gRPC call), scrapes /metrics on the
// admin port, and checks that every metric the rules and the dashboard
// select is one the running service exports or a rule records.
func TestQueriesNameExportedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs generated services; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	entries, err := os.ReadDir(filepath.Join("..", "..", "golden"))
	require.NoError(t, err)
	var checked int
	for _, e := range entries {
		answers := filepath.Join("..", "..", "golden", e.Name(), generator.AnswersFile)
		f, err := os.Open(answers)
		if err != nil {
			continue
		}
		spec, err := generator.ReadAnswers(answers, f, generator.DefaultSpec(e.Name()))
		f.Close()
		require.NoError(t, err)
		p := render(t, spec)
		if !monitored(p) {
			continue
		}
		checked++
		t.Run(e.Name(), func(t *testing.T) {
			if spec.Store == generator.StorePostgres && os.Getenv("DATABASE_URL") == "" {
				t.Skip("DATABASE_URL is unset; the Postgres case needs a server (see .ci/run)")
			}
			exported := runAndScrape(t, goTool, p)
			exprs, recorded := queries(t, p)
			var missing []string
			for _, expr := range exprs {
				for _, name := range metricNames(t, expr) {
					if !exported[name] && !slices.Contains(recorded, name) {
						missing = append(missing, name)
					}
				}
			}
			slices.Sort(missing)
			assert.Empty(t, slices.Compact(missing), "the rules or the dashboard select metrics the service does not export")
		})
	}
	require.Positive(t, checked, "no golden case has alert rules")
}

// runAndScrape builds p, runs it on free loopback ports, drives one request
// of each kind through it and returns the sample names /metrics exposes:
// a histogram's _bucket, _sum and _count, a summary's _sum and _count.
func runAndScrape(t *testing.T, goTool string, p project) map[string]bool {
	t.Helper()
	data, err := generator.NewData(p.spec)
	require.NoError(t, err)
	dir := t.TempDir()
	p.writeTo(t, dir)
	bin := filepath.Join(t.TempDir(), p.spec.Name)
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", bin, "./cmd/" + p.spec.Name}} {
		cmd := exec.Command(goTool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	}

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x"}`)
	}))
	defer upstream.Close()

	admin, httpAddr, grpcAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	env := append(os.Environ(),
		data.EnvPrefix+"ADMIN_ADDR="+admin,
		data.EnvPrefix+"HTTP_ADDR="+httpAddr,
		data.EnvPrefix+"GRPC_ADDR="+grpcAddr,
		data.EnvPrefix+"UPSTREAMS="+upstream.URL,
	)
	if data.Postgres {
		env = append(env, data.EnvPrefix+"DATABASE_URL="+ownDatabase(t, os.Getenv("DATABASE_URL")))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv := exec.CommandContext(ctx, bin)
	srv.Env = env
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	srv.Cancel = func() error { return srv.Process.Signal(os.Interrupt) }
	srv.WaitDelay = 30 * time.Second
	require.NoError(t, srv.Start())
	defer func() {
		cancel()
		_ = srv.Wait()
		if t.Failed() {
			t.Logf("service output:\n%s", logs.String())
		}
	}()

	client := &http.Client{Timeout: 5 * time.Second}
	waitReady(t, ctx, client, "http://"+admin+"/readyz")
	if data.HTTP {
		base := "http://" + httpAddr
		resp, err := client.Post(base+"/v1/items", "application/json", strings.NewReader(`{"name":"widget","quantity":3}`))
		require.NoError(t, err)
		var created struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
		resp.Body.Close()
		require.NotEmpty(t, created.ID, "POST /v1/items returned no id")
		for _, path := range []string{"/v1/items/" + created.ID, "/v1/items/" + created.ID, "/v1/upstream/items/" + created.ID, "/no/such/route"} {
			resp, err := client.Get(base + path)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	if data.GRPC {
		grpcHealthCheck(t, grpcAddr)
	}

	resp, err := client.Get("http://" + admin + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	names := map[string]bool{}
	for name, f := range families {
		names[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	return names
}

// waitReady polls url until it answers 200, bounded by ctx.
func waitReady(t *testing.T, ctx context.Context, client *http.Client, url string) {
	t.Helper()
	for ctx.Err() == nil {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200", url)
}

// grpcHealthCheck makes one unary gRPC call, grpc.health.v1.Health/Check
// with an empty request, over cleartext HTTP/2 with net/http: enough for
// the server's interceptors to record it, without a gRPC client library.
func grpcHealthCheck(t *testing.T, addr string) {
	t.Helper()
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &protocols}, Timeout: 5 * time.Second}
	frame := make([]byte, 5) // uncompressed, zero-length message
	binary.BigEndian.PutUint32(frame[1:], 0)
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/grpc.health.v1.Health/Check", bytes.NewReader(frame))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, "0", resp.Trailer.Get("Grpc-Status"), "health check: %s", resp.Trailer.Get("Grpc-Message"))
}

// ownDatabase creates a database for this test run on the server dsn names,
// drops it when the test ends, and returns its URL.
func ownDatabase(t *testing.T, dsn string) string {
	t.Helper()
	psql, err := exec.LookPath("psql")
	require.NoError(t, err, "the Postgres case creates its database with psql")
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("deploycheck_metrics_%x", b)
	run := func(sql string) {
		out, err := exec.Command(psql, dsn, "-v", "ON_ERROR_STOP=1", "-c", sql).CombinedOutput()
		require.NoError(t, err, "%s:\n%s", sql, out)
	}
	run("CREATE DATABASE " + name)
	t.Cleanup(func() { run("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	i := strings.LastIndex(dsn, "/")
	q := strings.Index(dsn[i:], "?")
	if q < 0 {
		return dsn[:i+1] + name
	}
	return dsn[:i+1] + name + dsn[i+q:]
}
