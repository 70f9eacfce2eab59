package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

func readSample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

func TestParseWrk(t *testing.T) {
	for _, tc := range []struct {
		file string
		want result
	}{
		// Captured: wrk -t1 -c64 -d2s --latency against the bare server.
		{"wrk.txt", result{requests: 19211, rps: 9236.74, p50: 4.97, p99: 90.64}},
		// Captured: a URL that answers 404, so every response is an error.
		{"wrk-errors.txt", result{requests: 7879, errors: 7879, rps: 7790.28, p50: 0.724, p99: 22.97}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := parseWrk(readSample(t, tc.file))
			require.NoError(t, err)
			assert.Equal(t, tc.want.requests, got.requests)
			assert.Equal(t, tc.want.errors, got.errors)
			assert.InDelta(t, tc.want.rps, got.rps, 1e-9)
			assert.InDelta(t, tc.want.p50, got.p50, 1e-9)
			assert.InDelta(t, tc.want.p99, got.p99, 1e-9)
		})
	}
}

func TestParseWrkSocketErrors(t *testing.T) {
	out := readSample(t, "wrk.txt")
	out = strings.Replace(out, "  19211 requests", "  Socket errors: connect 1, read 2, write 3, timeout 4\n  19211 requests", 1)
	got, err := parseWrk(out)
	require.NoError(t, err)
	assert.Equal(t, int64(10), got.errors)
}

func TestParseH2load(t *testing.T) {
	for _, tc := range []struct {
		file string
		want result
	}{
		// Captured: h2load -c64 -m1 -D 2 over h2c against the bare server.
		{"h2load.txt", result{requests: 10565, rps: 5282.50}},
		// Captured: h2load -c4 -m16 -D 2 with a gRPC body against the bare
		// gRPC server. A gRPC error still answers HTTP 200: perf checks the
		// grpc-status of the same request before the run (see probeGRPC).
		{"h2load-grpc.txt", result{requests: 25719, rps: 12859.50}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := parseH2load(readSample(t, tc.file))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseH2loadCountsFailures(t *testing.T) {
	// 60 answers with a 4xx status and 5 errors: h2load counts both as failed.
	out := readSample(t, "h2load.txt")
	out = strings.Replace(out, "10565 done, 10565 succeeded, 0 failed, 0 errored", "10565 done, 10500 succeeded, 65 failed, 5 errored", 1)
	out = strings.Replace(out, "status codes: 10565 2xx, 0 3xx, 0 4xx", "status codes: 10500 2xx, 0 3xx, 60 4xx", 1)
	got, err := parseH2load(out)
	require.NoError(t, err)
	assert.Equal(t, int64(10500), got.requests)
	assert.Equal(t, int64(65), got.errors)
}

func TestParsersRejectTruncatedOutput(t *testing.T) {
	_, err := parseWrk("Running 2s test @ http://127.0.0.1:8080/\n")
	assert.ErrorIs(t, err, ErrNoResult)
	_, err = parseH2load("starting benchmark...\n")
	assert.ErrorIs(t, err, ErrNoResult)
	_, err = parseH2loadLog(strings.NewReader(""), time.Time{})
	assert.ErrorIs(t, err, ErrNoResult)
}

func TestParseH2loadLog(t *testing.T) {
	// Captured lines of h2load --log-file, then 97 more of 1 ms and one of 50 ms.
	log := readSample(t, "h2load-log.txt")
	for range 97 {
		log += "1796526908448600\t200\t1000\n"
	}
	log += "1796526908448700\t200\t50000\n"
	got, err := parseH2loadLog(strings.NewReader(log), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, int64(101), got.requests)
	assert.InDelta(t, 1.0, got.p50, 1e-9)
	assert.InDelta(t, 11.532, got.p99, 1e-9, "nearest rank: the 100th of 101 sorted durations")
	assert.InDelta(t, 101/0.050181, got.rps, 1e-6, "from the first start to the last end: 50,181 µs")

	// A request of the warm-up that ended in the measured window, logged
	// first as it ended first, is left out with from at the window's start.
	warm := "1796526908348519\t200\t99000\n" + log
	from := time.UnixMicro(1796526908448519)
	again, err := parseH2loadLog(strings.NewReader(warm), from)
	require.NoError(t, err)
	assert.Equal(t, got, again)
	withWarmup, err := parseH2loadLog(strings.NewReader(warm), time.Time{})
	require.NoError(t, err)
	assert.Equal(t, int64(102), withWarmup.requests)
	assert.InDelta(t, 50.0, withWarmup.p99, 1e-9, "the warm-up's slow request would have moved p99")

	_, err = parseH2loadLog(strings.NewReader("1796526908448519 200 11514\n"), time.Time{})
	assert.ErrorContains(t, err, "want start, status and duration")
	_, err = parseH2loadLog(strings.NewReader("1796526908448519\t-1\tx\n"), time.Time{})
	assert.ErrorContains(t, err, "invalid syntax")
}

func TestParseProcStat(t *testing.T) {
	// Captured from /proc/PID/stat of wrk: utime 6 and stime 29 ticks.
	got, err := parseProcStat(readSample(t, "proc-stat.txt"))
	require.NoError(t, err)
	assert.Equal(t, 350*time.Millisecond, got)

	// A command name with spaces and a parenthesis does not shift fields.
	got, err = parseProcStat("42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 100 0 0")
	require.NoError(t, err)
	assert.Equal(t, 100*time.Millisecond, got)

	_, err = parseProcStat("42 no parenthesis")
	assert.Error(t, err)
}

func TestClientBound(t *testing.T) {
	for _, tc := range []struct {
		cpu  float64
		want bool
	}{{0, false}, {0.45, false}, {0.60, false}, {0.61, true}, {1.0, true}} {
		assert.Equal(t, tc.want, clientBound(tc.cpu), "client CPU %.2f", tc.cpu)
	}
}

func TestGRPCFrameAndStringField(t *testing.T) {
	msg := protowire.AppendTag(nil, 3, protowire.VarintType)
	msg = protowire.AppendVarint(msg, 7)
	msg = protowire.AppendTag(msg, 1, protowire.BytesType)
	msg = protowire.AppendString(msg, "0123abcd")
	assert.Equal(t, "0123abcd", stringField(msg, 1), "found after a field of another type")
	assert.Empty(t, stringField(msg, 2))
	assert.Empty(t, stringField([]byte{0xff}, 1), "a malformed message has no fields")

	framed := grpcFrame(msg)
	require.Len(t, framed, 5+len(msg))
	assert.Equal(t, []byte{0, 0, 0, 0, byte(len(msg))}, framed[:5], "uncompressed, big-endian length")
	assert.Equal(t, msg, framed[5:])
}

func TestRSSProfile(t *testing.T) {
	// Captured: cmd/loadgen -mode open -rate 2000 -warmup 1s -duration 2s
	// against the bare server, with -pid for its CPU and RSS.
	var rep report
	require.NoError(t, json.Unmarshal([]byte(readSample(t, "loadgen-open.json")), &rep))
	require.NotNil(t, rep.Server)
	_, err := rssProfile(&rep, 2*time.Second)
	assert.ErrorContains(t, err, "only 8 RSS samples", "too few samples for a tenth at each end")

	rep.Server.RSSMiB = append(rep.Server.RSSMiB, 13.4, 14.0)
	got, err := rssProfile(&rep, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, rssRun{
		duration: 10 * time.Second, rps: 2000,
		first: 12.5, last: 14.0, peak: 13.23046875,
		firstTail: 12.5, lastTail: 14.0,
	}, *got)
}

func TestH2loadErrorKinds(t *testing.T) {
	out := readSample(t, "h2load.txt")
	assert.Empty(t, h2loadErrorKinds(out))

	out = strings.Replace(out, "10565 succeeded, 0 failed, 0 errored, 0 timeout", "10500 succeeded, 65 failed, 5 errored, 2 timeout", 1)
	out = strings.Replace(out, "status codes: 10565 2xx, 0 3xx, 0 4xx, 0 5xx", "status codes: 10500 2xx, 0 3xx, 12 4xx, 48 5xx", 1)
	assert.Equal(t, []string{"5 x errored", "2 x timed out", "12 x status 4xx", "48 x status 5xx"}, h2loadErrorKinds(out))
	assert.Contains(t, describe(loadRun{errorKinds: h2loadErrorKinds(out)}), "errors: 5 x errored; 2 x timed out; 12 x status 4xx; 48 x status 5xx")
}

func TestSplitRate(t *testing.T) {
	for _, tc := range []struct {
		rate, conns, perConn int
	}{
		{10000, 100, 100},
		{100, 1, 100},
		{1, 1, 1},
		{150, 2, 75},
		{250, 5, 50},  // 3 connections would not divide it
		{101, 101, 1}, // a prime: one request per second per connection
		{12345, 823, 15},
		{100000, 1000, 100},
	} {
		conns, perConn, err := splitRate(tc.rate)
		require.NoError(t, err, "rate %d", tc.rate)
		assert.Equal(t, tc.rate, conns*perConn, "rate %d is offered exactly", tc.rate)
		assert.LessOrEqual(t, perConn, maxConnRate, "rate %d", tc.rate)
		assert.Equal(t, [2]int{tc.conns, tc.perConn}, [2]int{conns, perConn}, "rate %d", tc.rate)
	}
	_, _, err := splitRate(1009)
	assert.EqualError(t, err, "-rate 1009 cannot be offered exactly: h2load offers every connection the same rate, and no number of connections from 11 to 1000 divides it; use a multiple of 100, such as 1000")
	for _, rate := range []int{0, -5, 100001} {
		_, _, err := splitRate(rate)
		assert.ErrorContains(t, err, "out of range; use 1 to 100000 req/s", "rate %d", rate)
	}
}

func TestFixedRateArgs(t *testing.T) {
	args, err := fixedRateArgs("http1", 10000, 2*time.Second, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []string{"-t1", "--h1", "-c100", "-m1", "--rps", "100", "--warm-up-time", "2", "-D", "10"}, args,
		"HTTP/1.1: one request in flight per connection")
	for _, proto := range []string{"h2c", "grpc"} {
		args, err := fixedRateArgs(proto, 3000, time.Second, 3*time.Second)
		require.NoError(t, err)
		assert.Equal(t, []string{"-t1", "-c30", "-m16", "--rps", "100", "--warm-up-time", "1", "-D", "3"}, args, proto)
	}
	_, err = fixedRateArgs("h2c", 1009, time.Second, time.Second)
	assert.ErrorContains(t, err, "cannot be offered exactly")
}
