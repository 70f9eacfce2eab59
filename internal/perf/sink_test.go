package main

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// message appends fields, each a field number and its bytes, as a
// protobuf message.
func message(fields ...any) []byte {
	var b []byte
	for i := 0; i < len(fields); i += 2 {
		b = protowire.AppendTag(b, protowire.Number(fields[i].(int)), protowire.BytesType)
		b = protowire.AppendBytes(b, fields[i+1].([]byte))
	}
	return b
}

// otlpRequest is an ExportTraceServiceRequest with two resources: the first
// has scopes of 3 and 1 spans, the second a scope with none. Resources,
// scopes and schema URLs are set too, so the counter must skip them.
func otlpRequest() []byte {
	span := message(5, []byte("GET /v1/items/{id}"))
	scope := func(n int) []byte {
		fields := []any{1, message(1, []byte("perfgen"))}
		for range n {
			fields = append(fields, 2, span)
		}
		return append(message(fields...), message(3, []byte("https://opentelemetry.io/schemas/1.26.0"))...)
	}
	resource := message(1, message(1, []byte("service.name")))
	first := message(1, resource, 2, scope(3), 2, scope(1))
	second := message(1, resource, 2, scope(0))
	return message(1, first, 1, second)
}

func TestCountSpans(t *testing.T) {
	n, err := countSpans(otlpRequest())
	require.NoError(t, err)
	assert.Equal(t, 4, n)

	n, err = countSpans(nil)
	require.NoError(t, err, "an empty request is valid")
	assert.Zero(t, n)

	// Captured: the export of the default golden project's service, with
	// tracing on, after a POST /v1/items and three GET /v1/items/{id}.
	n, err = countSpans([]byte(readSample(t, "otlp-traces.bin")))
	require.NoError(t, err)
	assert.Equal(t, 4, n)

	for name, body := range map[string][]byte{
		"truncated":               otlpRequest()[:20],
		"resource_spans a varint": protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 7),
		"json":                    []byte(`{"resourceSpans":[]}`),
	} {
		_, err := countSpans(body)
		assert.ErrorIs(t, err, errNotOTLP, name)
	}
}

func TestSinkCountsSpansAndAnswers200(t *testing.T) {
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	post := func(body []byte, gz bool) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/traces", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-protobuf")
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(body)
			require.NoError(t, zw.Close())
			req, _ = http.NewRequest(http.MethodPost, srv.URL+"/v1/traces", &buf)
			req.Header.Set("Content-Encoding", "gzip")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, post(otlpRequest(), false))
	assert.Equal(t, http.StatusOK, post(otlpRequest(), true), "OTEL_EXPORTER_OTLP_COMPRESSION=gzip")
	assert.Equal(t, http.StatusBadRequest, post([]byte("not protobuf \xff"), false))
	requests, spans := s.counts()
	assert.Equal(t, int64(2), requests)
	assert.Equal(t, int64(8), spans)
	assert.Equal(t, int64(1), s.bad.Load())

	resp, err := http.Get(srv.URL + "/v1/traces")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestParseDefaultSampler(t *testing.T) {
	// Captured: the lines of the default golden project's `demo -h`.
	usage := "  -trace-queue-size int\n    \tmost spans waiting for export (default 2048)\n" +
		"  -trace-sampler string\n    \twhich traces to sample: always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio (env OTEL_TRACES_SAMPLER) (default \"parentbased_always_on\")\n" +
		"  -trace-sampler-arg float\n    \tthe traceidratio samplers' ratio, 0 to 1 (env OTEL_TRACES_SAMPLER_ARG) (default 1)\n"
	assert.Equal(t, "parentbased_always_on", parseDefaultSampler(usage))
	assert.Empty(t, parseDefaultSampler("flag provided but not defined: -h\n"))
}

// TestRenderTracing: the traced variant is compared with the untraced
// service, round by round; CPU per request is server CPU over throughput.
func TestRenderTracing(t *testing.T) {
	o := options{rounds: 2, duration: 3 * time.Second, warmup: time.Second, rate: 10000, protocols: []string{"h2c"}, clientCPUs: "1", tracing: true}
	m := func(rps, cpu float64, spans float64) measurement {
		return measurement{open: loadRun{result: result{rps: rps, p50: 0.5, p99: 2}, serverCPU: cpu}, spansPerSec: spans, exportsPerSec: spans / 512, droppedPerSec: 10000 - spans}
	}
	results := map[string][]measurement{
		"generated/h2c": {m(10000, 0.40, 0), m(10000, 0.50, 0)},
		"traced/h2c":    {m(10000, 0.60, 9800), m(10000, 0.60, 9900)},
	}
	out := render(o, &binaries{sampler: "parentbased_always_on"}, results, nil, "", "")
	assert.Contains(t, out, "### Tracing on vs off at 10000 req/s")
	assert.Contains(t, out, "sampler (`parentbased_always_on`, from its `-h`")
	// 0.6 cores at 10,000 req/s is 60 µs a request, against 40 and 50.
	assert.Contains(t, out, "| h2c | server CPU per request | 60.0 µs | 45.0 µs | 1.33x | 1.20–1.50 |")
	assert.Contains(t, out, "| h2c | spans received by the sink | 9850 /s in 19.2 exports/s |")
	assert.Contains(t, out, "| h2c | spans dropped by the service (export queue full) | 150.0 /s |")
	assert.NotContains(t, out, "Fixed rate not reached with tracing on")

	results["traced/h2c"] = []measurement{m(6000, 1, 5000), m(6000, 1, 5000)}
	out = render(o, &binaries{}, results, nil, "", "")
	assert.Contains(t, out, "sampler (`unknown`")
	assert.Contains(t, out, "| h2c | spans dropped by the service (export queue full) | 5000 /s |")
	results["traced/h2c"][1].droppedPerSec = -1
	assert.Contains(t, render(o, &binaries{}, results, nil, "", ""), "| h2c | spans dropped by the service (export queue full) | n/a |", "a round whose metrics could not be read")
	assert.Contains(t, out, "**Fixed rate not reached with tracing on** (below 95 % of 10000 req/s): h2c (6000 req/s).")

	o.tracing = false
	assert.NotContains(t, render(o, &binaries{}, results, nil, "", ""), "Tracing on vs off")
}

// TestTracedServerExportsToTheSinkOnly: the traced variant is the same
// binary, with an environment in which the sink's endpoint is the last word
// on tracing, and the untraced one has tracing off whatever perf inherits.
func TestTracedServerExportsToTheSinkOnly(t *testing.T) {
	b := &binaries{service: "/bin/demo", serviceEnv: []string{"DEMO_HTTP_ADDR=127.0.0.1:0", "OTEL_SDK_DISABLED=true"}}
	b.tracedEnv = tracedEnv(b.serviceEnv, "http://127.0.0.1:4318")
	traced, untraced := b.server("traced", "grpc"), b.server("generated", "grpc")
	assert.Equal(t, b.service, traced.bin)
	assert.Equal(t, b.service, untraced.bin)
	last := map[string]string{}
	for _, kv := range traced.env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v
	}
	assert.Equal(t, "http://127.0.0.1:4318", last["OTEL_EXPORTER_OTLP_ENDPOINT"])
	for _, k := range []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_SAMPLER"} {
		assert.Empty(t, last[k], k)
	}
	assert.Equal(t, "127.0.0.1:0", last["DEMO_HTTP_ADDR"])
	assert.Contains(t, untraced.env, "OTEL_SDK_DISABLED=true")
}

func TestCounterValue(t *testing.T) {
	metrics := "# HELP demo_trace_spans_dropped_total Spans dropped.\n# TYPE demo_trace_spans_dropped_total counter\n" +
		"demo_trace_spans_exported_total 9000\ndemo_trace_spans_dropped_total 1234\n"
	v, err := counterValue(metrics, "_trace_spans_dropped_total")
	require.NoError(t, err)
	assert.Equal(t, 1234.0, v)
	_, err = counterValue("go_goroutines 12\n", "_trace_spans_dropped_total")
	assert.ErrorContains(t, err, "no metric")
}
