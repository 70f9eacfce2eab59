package main

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// sink is the OTLP/HTTP traces receiver the traced variant exports to: it
// answers 200 to POST /v1/traces and counts the export requests and the
// spans in them, so the report shows that the spans really arrived. It
// decodes only the field numbers it counts (an ExportTraceServiceRequest's
// resource_spans, their scope_spans and those's spans), skipping the rest
// unread, so its CPU per span stays far below the server's.
type sink struct {
	srv      *http.Server
	addr     string
	requests atomic.Int64
	spans    atomic.Int64
	// bad counts bodies that were not OTLP protobuf; a test of the sink
	// itself, since the service would not export them.
	bad atomic.Int64
}

// startSink listens on a loopback port and serves until close.
func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("trace sink: %w", err)
	}
	s := &sink{addr: ln.Addr().String()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) close() { _ = s.srv.Close() }

// endpoint is the base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the service adds
// /v1/traces).
func (s *sink) endpoint() string { return "http://" + s.addr }

// counts returns the export requests and spans received so far.
func (s *sink) counts() (requests, spans int64) { return s.requests.Load(), s.spans.Load() }

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n, err := countSpans(data)
	if err != nil {
		s.bad.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.requests.Add(1)
	s.spans.Add(int64(n))
	// An empty ExportTraceServiceResponse: everything accepted.
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

// OTLP field numbers along the path to a span.
const (
	otlpResourceSpans protowire.Number = 1 // ExportTraceServiceRequest.resource_spans
	otlpScopeSpans    protowire.Number = 2 // ResourceSpans.scope_spans
	otlpSpans         protowire.Number = 2 // ScopeSpans.spans
)

// errNotOTLP is countSpans' error for a body that is not an OTLP traces
// request.
var errNotOTLP = errors.New("not an OTLP ExportTraceServiceRequest")

// countSpans counts the spans of an OTLP ExportTraceServiceRequest.
func countSpans(msg []byte) (int, error) {
	n := 0
	err := eachField(msg, otlpResourceSpans, func(rs []byte) error {
		return eachField(rs, otlpScopeSpans, func(ss []byte) error {
			return eachField(ss, otlpSpans, func([]byte) error {
				n++
				return nil
			})
		})
	})
	return n, err
}

// eachField calls f with every length-delimited field num of msg, and
// checks that the rest of msg is well-formed.
func eachField(msg []byte, num protowire.Number, f func([]byte) error) error {
	for len(msg) > 0 {
		n, typ, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return errNotOTLP
		}
		msg = msg[l:]
		if n == num {
			if typ != protowire.BytesType {
				return errNotOTLP
			}
			v, l := protowire.ConsumeBytes(msg)
			if l < 0 {
				return errNotOTLP
			}
			if err := f(v); err != nil {
				return err
			}
			msg = msg[l:]
			continue
		}
		if l = protowire.ConsumeFieldValue(n, typ, msg); l < 0 {
			return errNotOTLP
		}
		msg = msg[l:]
	}
	return nil
}

// samplerDefault finds the default of -trace-sampler in a service's -h
// output: the sampler it traces with when only an endpoint is set.
var samplerDefault = regexp.MustCompile(`(?m)^\s+-trace-sampler string\n.*\(default "([^"]+)"\)`)

// defaultSampler asks the service binary which sampler it uses by default,
// or returns "" when its usage does not say.
func defaultSampler(ctx context.Context, bin string) string {
	// -h exits with status 2 after printing the usage.
	out, _ := exec.CommandContext(ctx, bin, "-h").CombinedOutput()
	return parseDefaultSampler(string(out))
}

func parseDefaultSampler(usage string) string {
	if m := samplerDefault.FindStringSubmatch(usage); m != nil {
		return m[1]
	}
	return ""
}

// pinSelf moves every thread of this process to cpus, so the trace sink
// it serves (and its /proc sampling) run beside the load clients, never
// on the server's CPU. Threads started later inherit the mask.
func pinSelf(ctx context.Context, cpus string) error {
	out, err := exec.CommandContext(ctx, "taskset", "-a", "-p", "-c", cpus, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pin perf to CPUs %s: %w\n%s", cpus, err, out)
	}
	return nil
}
