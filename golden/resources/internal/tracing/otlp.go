package tracing

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// ExportOptions configure the OTLP/HTTP requests, as the
// OTEL_EXPORTER_OTLP_* variables do; ExportOptionsFromEnv reads them.
type ExportOptions struct {
	// Headers are sent with every export (authentication tokens), written
	// as OTEL_EXPORTER_OTLP_HEADERS writes them: key1=value1,key2=value2,
	// values percent-encoded.
	Headers string
	// Timeout bounds one export request; 0 is the OTLP default, 10s.
	Timeout time.Duration
	// Gzip compresses the request bodies.
	Gzip bool
	// CACertificate is a PEM file of the CAs that sign an https
	// collector's certificate; empty trusts the system's.
	CACertificate string
	// ClientCertificate and ClientKey are PEM files of the certificate
	// the exporter presents to a collector that asks for one (mTLS).
	ClientCertificate, ClientKey string
}

// defaultExportTimeout is OTEL_EXPORTER_OTLP_TIMEOUT's default.
const defaultExportTimeout = 10 * time.Second

// ExportOptionsFromEnv reads the OTLP exporter variables through lookup:
// OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT (milliseconds), _COMPRESSION (gzip
// or none), _CERTIFICATE, _CLIENT_CERTIFICATE and _CLIENT_KEY, each
// overridden by its OTEL_EXPORTER_OTLP_TRACES_* form.
func ExportOptionsFromEnv(lookup func(string) (string, bool)) (ExportOptions, error) {
	get := func(name string) (string, string) {
		for _, key := range []string{"OTEL_EXPORTER_OTLP_TRACES_" + name, "OTEL_EXPORTER_OTLP_" + name} {
			if v, ok := lookup(key); ok && strings.TrimSpace(v) != "" {
				return key, strings.TrimSpace(v)
			}
		}
		return "", ""
	}
	var o ExportOptions
	var errs []error
	if key, v := get("HEADERS"); v != "" {
		if _, err := parseHeaders(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		o.Headers = v
	}
	if key, v := get("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive whole number of milliseconds", key, v))
		}
		o.Timeout = time.Duration(ms) * time.Millisecond
	}
	if key, v := get("COMPRESSION"); v != "" {
		switch v {
		case "gzip":
			o.Gzip = true
		case "none":
		default:
			errs = append(errs, fmt.Errorf("%s=%q: want gzip or none", key, v))
		}
	}
	_, o.CACertificate = get("CERTIFICATE")
	_, o.ClientCertificate = get("CLIENT_CERTIFICATE")
	_, o.ClientKey = get("CLIENT_KEY")
	return o, errors.Join(errs...)
}

// parseHeaders reads OTEL_EXPORTER_OTLP_HEADERS' form.
func parseHeaders(v string) (map[string]string, error) {
	headers := make(map[string]string)
	for pair := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(pair, "=")
		name, err1 := url.PathUnescape(strings.TrimSpace(k))
		value, err2 := url.PathUnescape(strings.TrimSpace(val))
		if !ok || name == "" || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%q is not a key=value pair; write key1=value1,key2=value2 with values percent-encoded", pair)
		}
		headers[name] = value
	}
	return headers, nil
}

// exporter sends spans to an OTLP/HTTP collector as http/protobuf
// ExportTraceServiceRequest messages. It writes the few OTLP messages a span
// needs with protowire rather than linking otlptracehttp and the generated
// OTLP types: those added 0.8 MB to the binary of every service, tracing on
// or off, and gRPC to HTTP-only ones (the OTLP package declares the
// collector's gRPC service), and cost ten times the CPU and allocations
// per span. perfgen's docs/performance.md has the figures.
//
// ExportSpans is called from the batcher's goroutine only, so the
// buffers are reused without a lock.
type exporter struct {
	client   *http.Client
	endpoint string
	headers  map[string]string
	gzip     bool

	body   []byte
	zipped bytes.Buffer
	zw     *gzip.Writer
}

var _ sdktrace.SpanExporter = (*exporter)(nil)

func newExporter(endpoint string, opts ExportOptions) (*exporter, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if opts.CACertificate != "" || opts.ClientCertificate != "" {
		cfg, err := tlsConfig(opts)
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = cfg
	}
	var headers map[string]string
	if opts.Headers != "" {
		var err error
		if headers, err = parseHeaders(opts.Headers); err != nil {
			return nil, fmt.Errorf("otlp headers: %w", err)
		}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultExportTimeout
	}
	return &exporter{
		client:   &http.Client{Transport: transport, Timeout: timeout},
		endpoint: endpoint,
		headers:  headers,
		gzip:     opts.Gzip,
	}, nil
}

func tlsConfig(opts ExportOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CACertificate != "" {
		pem, err := os.ReadFile(opts.CACertificate)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE %s: no PEM certificate in the file; give the collector's CA in PEM", opts.CACertificate)
		}
	}
	if opts.ClientCertificate != "" || opts.ClientKey != "" {
		cert, err := tls.LoadX509KeyPair(opts.ClientCertificate, opts.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("otlp client certificate %q and key %q: %w; set both OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY", opts.ClientCertificate, opts.ClientKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// ExportSpans posts spans in one request. A collector that is down or
// answers 429, 502, 503 or 504 is retried with a growing pause until ctx
// ends; the batcher bounds ctx and counts what fails.
func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	e.body = appendTraces(e.body[:0], spans)
	body := e.body
	if e.gzip {
		e.zipped.Reset()
		if e.zw == nil {
			e.zw = gzip.NewWriter(&e.zipped)
		} else {
			e.zw.Reset(&e.zipped)
		}
		if _, err := e.zw.Write(body); err != nil {
			return err
		}
		if err := e.zw.Close(); err != nil {
			return err
		}
		body = e.zipped.Bytes()
	}
	pause := time.Second
	for {
		retry, err := e.post(ctx, body)
		if err == nil || !retry {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		pause = min(2*pause, 30*time.Second)
	}
}

// post sends one request and says whether a failure is worth retrying.
func (e *exporter) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return ctx.Err() == nil, fmt.Errorf("otlp export to %s: %w", e.endpoint, err)
	}
	defer resp.Body.Close()
	// The body is a small protobuf message: the partial success or the
	// error's google.rpc.Status.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if rejected, msg := partialSuccess(answer); rejected > 0 {
			return false, fmt.Errorf("otlp export to %s: the collector rejected %d spans: %s", e.endpoint, rejected, msg)
		}
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusBadGateway,
		resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		return true, fmt.Errorf("otlp export to %s: %s", e.endpoint, resp.Status)
	default:
		return false, fmt.Errorf("otlp export to %s: %s; check the endpoint, a collector's OTLP/HTTP traces URL ends in /v1/traces", e.endpoint, resp.Status)
	}
}

// Shutdown closes the exporter's idle connections; the batcher calls it
// after its last export.
func (e *exporter) Shutdown(context.Context) error {
	e.client.CloseIdleConnections()
	return nil
}

// partialSuccess reads ExportTraceServiceResponse.partial_success: the
// spans the collector rejected and why.
func partialSuccess(b []byte) (rejected int64, msg string) {
	eachField(b, func(num protowire.Number, v []byte, n uint64) {
		if num == 1 { // partial_success
			eachField(v, func(num protowire.Number, v []byte, n uint64) {
				switch num {
				case 1: // rejected_spans
					rejected = int64(n) // #nosec G115 -- an int64 field is its varint, two's complement
				case 2: // error_message
					msg = string(v)
				}
			})
		}
	})
	return rejected, msg
}

// eachField calls f with each field of the message b: the bytes of a
// length-delimited field, the number of a varint. It stops at bytes that
// do not parse.
func eachField(b []byte, f func(num protowire.Number, v []byte, n uint64)) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return
			}
			f(num, v, 0)
			b = b[n:]
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return
			}
			f(num, nil, v)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return
			}
			b = b[n:]
		}
	}
}

// The OTLP field numbers written here, from opentelemetry-proto's
// collector/trace/v1/trace_service.proto, trace/v1/trace.proto,
// resource/v1/resource.proto and common/v1/common.proto.
const (
	requestResourceSpans protowire.Number = 1

	resourceSpansResource   protowire.Number = 1
	resourceSpansScopeSpans protowire.Number = 2
	resourceSpansSchemaURL  protowire.Number = 3

	resourceAttributes protowire.Number = 1

	scopeSpansScope     protowire.Number = 1
	scopeSpansSpans     protowire.Number = 2
	scopeSpansSchemaURL protowire.Number = 3

	scopeName       protowire.Number = 1
	scopeVersion    protowire.Number = 2
	scopeAttributes protowire.Number = 3

	spanTraceID           protowire.Number = 1
	spanSpanID            protowire.Number = 2
	spanTraceState        protowire.Number = 3
	spanParentSpanID      protowire.Number = 4
	spanName              protowire.Number = 5
	spanKind              protowire.Number = 6
	spanStartTime         protowire.Number = 7
	spanEndTime           protowire.Number = 8
	spanAttributes        protowire.Number = 9
	spanDroppedAttributes protowire.Number = 10
	spanEvents            protowire.Number = 11
	spanDroppedEvents     protowire.Number = 12
	spanLinks             protowire.Number = 13
	spanDroppedLinks      protowire.Number = 14
	spanStatus            protowire.Number = 15
	spanFlags             protowire.Number = 16

	eventTime       protowire.Number = 1
	eventName       protowire.Number = 2
	eventAttributes protowire.Number = 3
	eventDropped    protowire.Number = 4

	linkTraceID    protowire.Number = 1
	linkSpanID     protowire.Number = 2
	linkTraceState protowire.Number = 3
	linkAttributes protowire.Number = 4
	linkDropped    protowire.Number = 5
	linkFlags      protowire.Number = 6

	statusMessage protowire.Number = 2
	statusCode    protowire.Number = 3

	keyValueKey   protowire.Number = 1
	keyValueValue protowire.Number = 2

	anyString protowire.Number = 1
	anyBool   protowire.Number = 2
	anyInt    protowire.Number = 3
	anyDouble protowire.Number = 4
	anyArray  protowire.Number = 5
	anyKVList protowire.Number = 6
	anyBytes  protowire.Number = 7

	// ArrayValue.values and KeyValueList.values.
	listValues protowire.Number = 1
)

// OTLP's Status.code and Span.flags values.
const (
	statusCodeOK    = 1
	statusCodeError = 2

	flagsHasIsRemote = 0x100
	flagsIsRemote    = 0x200
)

// appendTraces appends spans to b as an ExportTraceServiceRequest: one
// ResourceSpans per resource (a provider has one), in it one ScopeSpans
// per tracer (the service's own, otelgrpc's, the store's).
func appendTraces(b []byte, spans []sdktrace.ReadOnlySpan) []byte {
	done := make([]bool, len(spans))
	for i, first := range spans {
		if done[i] {
			continue
		}
		res := first.Resource()
		var rs, r int
		b, rs = openMessage(b, requestResourceSpans)
		b, r = openMessage(b, resourceSpansResource)
		for it := res.Iter(); it.Next(); {
			b = appendKeyValue(b, resourceAttributes, it.Attribute())
		}
		b = closeMessage(b, r)
		for j := i; j < len(spans); j++ {
			if done[j] || spans[j].Resource() != res {
				continue
			}
			scope := spans[j].InstrumentationScope()
			var ss int
			b, ss = openMessage(b, resourceSpansScopeSpans)
			b = appendScope(b, &scope)
			for k := j; k < len(spans); k++ {
				if !done[k] && spans[k].Resource() == res && sameScope(spans[k].InstrumentationScope(), &scope) {
					b = appendSpan(b, spans[k])
					done[k] = true
				}
			}
			b = appendString(b, scopeSpansSchemaURL, scope.SchemaURL)
			b = closeMessage(b, ss)
		}
		b = appendString(b, resourceSpansSchemaURL, res.SchemaURL())
		b = closeMessage(b, rs)
	}
	return b
}

func sameScope(a instrumentation.Scope, b *instrumentation.Scope) bool {
	return a.Name == b.Name && a.Version == b.Version && a.SchemaURL == b.SchemaURL && a.Attributes.Equals(&b.Attributes)
}

func appendScope(b []byte, s *instrumentation.Scope) []byte {
	var m int
	b, m = openMessage(b, scopeSpansScope)
	b = appendString(b, scopeName, s.Name)
	b = appendString(b, scopeVersion, s.Version)
	for it := s.Attributes.Iter(); it.Next(); {
		b = appendKeyValue(b, scopeAttributes, it.Attribute())
	}
	return closeMessage(b, m)
}

func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	var m int
	b, m = openMessage(b, scopeSpansSpans)
	sc := s.SpanContext()
	traceID, spanID := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, spanTraceID, traceID[:])
	b = appendBytes(b, spanSpanID, spanID[:])
	b = appendString(b, spanTraceState, sc.TraceState().String())
	parent := s.Parent()
	if parent.HasSpanID() {
		parentID := parent.SpanID()
		b = appendBytes(b, spanParentSpanID, parentID[:])
	}
	b = appendString(b, spanName, s.Name())
	// trace.SpanKind numbers the kinds as OTLP's SpanKind does.
	b = appendVarint(b, spanKind, uint64(s.SpanKind())) // #nosec G115 -- the kinds are 0 to 5
	b = appendFixed64(b, spanStartTime, unixNano(s.StartTime()))
	b = appendFixed64(b, spanEndTime, unixNano(s.EndTime()))
	for _, kv := range s.Attributes() {
		b = appendKeyValue(b, spanAttributes, kv)
	}
	b = appendVarint(b, spanDroppedAttributes, count(s.DroppedAttributes()))
	for _, ev := range s.Events() {
		var e int
		b, e = openMessage(b, spanEvents)
		b = appendFixed64(b, eventTime, unixNano(ev.Time))
		b = appendString(b, eventName, ev.Name)
		for _, kv := range ev.Attributes {
			b = appendKeyValue(b, eventAttributes, kv)
		}
		b = appendVarint(b, eventDropped, count(ev.DroppedAttributeCount))
		b = closeMessage(b, e)
	}
	b = appendVarint(b, spanDroppedEvents, count(s.DroppedEvents()))
	for _, l := range s.Links() {
		var lm int
		b, lm = openMessage(b, spanLinks)
		traceID, spanID := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		b = appendBytes(b, linkTraceID, traceID[:])
		b = appendBytes(b, linkSpanID, spanID[:])
		b = appendString(b, linkTraceState, l.SpanContext.TraceState().String())
		for _, kv := range l.Attributes {
			b = appendKeyValue(b, linkAttributes, kv)
		}
		b = appendVarint(b, linkDropped, count(l.DroppedAttributeCount))
		b = appendFixed32(b, linkFlags, traceFlags(l.SpanContext.TraceFlags(), l.SpanContext.IsRemote()))
		b = closeMessage(b, lm)
	}
	b = appendVarint(b, spanDroppedLinks, count(s.DroppedLinks()))
	if st := s.Status(); st.Code != codes.Unset {
		var sm int
		b, sm = openMessage(b, spanStatus)
		b = appendString(b, statusMessage, st.Description)
		code := uint64(statusCodeOK)
		if st.Code == codes.Error {
			code = statusCodeError
		}
		b = appendVarint(b, statusCode, code)
		b = closeMessage(b, sm)
	}
	b = appendFixed32(b, spanFlags, traceFlags(sc.TraceFlags(), parent.IsRemote()))
	return closeMessage(b, m)
}

// traceFlags are the W3C trace flags and whether the parent (or linked)
// span context came from another process.
func traceFlags(f trace.TraceFlags, remote bool) uint32 {
	flags := uint32(f) | flagsHasIsRemote
	if remote {
		flags |= flagsIsRemote
	}
	return flags
}

// count is a dropped-items count as its uint32 field takes it.
func count(n int) uint64 {
	return uint64(max(n, 0)) // #nosec G115 -- not negative
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func appendKeyValue(b []byte, num protowire.Number, kv attribute.KeyValue) []byte {
	var m int
	b, m = openMessage(b, num)
	b = appendString(b, keyValueKey, string(kv.Key))
	b = appendValue(b, keyValueValue, kv.Value)
	return closeMessage(b, m)
}

// appendValue appends v as an AnyValue.
func appendValue(b []byte, num protowire.Number, v attribute.Value) []byte {
	var m int
	b, m = openMessage(b, num)
	switch v.Type() {
	case attribute.BOOL:
		b = protowire.AppendTag(b, anyBool, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, anyInt, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v.AsInt64())) // #nosec G115 -- an int64 field is its varint, two's complement
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, anyDouble, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		b = protowire.AppendTag(b, anyString, protowire.BytesType)
		b = protowire.AppendString(b, v.AsString())
	case attribute.BYTESLICE:
		b = protowire.AppendTag(b, anyBytes, protowire.BytesType)
		b = protowire.AppendBytes(b, v.AsByteSlice())
	case attribute.BOOLSLICE:
		b = appendList(b, v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		b = appendList(b, v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		b = appendList(b, v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		b = appendList(b, v.AsStringSlice(), attribute.StringValue)
	case attribute.SLICE:
		b = appendList(b, v.AsSlice(), func(v attribute.Value) attribute.Value { return v })
	case attribute.MAP:
		var l int
		b, l = openMessage(b, anyKVList)
		for _, kv := range v.AsMap() {
			b = appendKeyValue(b, listValues, kv)
		}
		b = closeMessage(b, l)
	}
	// EMPTY is an AnyValue with no value set.
	return closeMessage(b, m)
}

// appendList appends vs as an ArrayValue.
func appendList[T any](b []byte, vs []T, value func(T) attribute.Value) []byte {
	var l int
	b, l = openMessage(b, anyArray)
	for _, v := range vs {
		b = appendValue(b, listValues, value(v))
	}
	return closeMessage(b, l)
}

// openMessage appends the tag of an embedded message and returns where its
// bytes start; closeMessage puts their length in front of them, once
// known. Writing the message first and moving it by the one to five bytes
// of its length costs less than sizing every message in a first pass.
func openMessage(b []byte, num protowire.Number) ([]byte, int) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return b, len(b)
}

func closeMessage(b []byte, start int) []byte {
	size := len(b) - start
	length := uint64(size) // #nosec G115 -- a length is not negative
	n := protowire.SizeVarint(length)
	b = append(b, make([]byte, n)...)
	copy(b[start+n:], b[start:start+size])
	protowire.AppendVarint(b[start:start], length) // in place: b has the room
	return b
}

// appendString, appendBytes and appendVarint leave out the default
// values (empty, zero), as protobuf encoders do.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func appendFixed32(b []byte, num protowire.Number, v uint32) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}
