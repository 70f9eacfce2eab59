package config

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"example.com/shop/internal/reqlog"
	"example.com/shop/internal/tracing"
)

// Observability is the configuration of tracing, request ids and the
// access log.
type Observability struct {
	// TraceEndpoint is the OTLP/HTTP traces URL spans are exported to;
	// empty (the default) turns tracing off.
	TraceEndpoint string
	// TraceSampler and TraceSamplerArg choose the sampled traces, as
	// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
	TraceSampler    string
	TraceSamplerArg float64
	// ServiceName is the service.name of the exported spans.
	ServiceName string
	// TraceQueueSize bounds the spans waiting for export; past it spans
	// are dropped and counted.
	TraceQueueSize int
	// TraceBatchDelay is the longest a span waits for its batch to be
	// exported.
	TraceBatchDelay time.Duration
	// TraceExport holds the OTLP request settings of the
	// OTEL_EXPORTER_OTLP_* variables: headers, timeout, compression and
	// TLS files.
	TraceExport tracing.ExportOptions
	// RequestIDs says which requests get an id that their log lines
	// carry (X-Request-Id, x-request-id metadata): off, accept (those
	// that come with one) or generate (every request).
	RequestIDs string
	// AccessLog is the fraction of HTTP requests logged, 0 to 1; 0 turns
	// the access log off.
	AccessLog float64
}

// defaultObservability is the observability part of Default: tracing and
// the access log off, request ids accepted from the requests that come
// with one.
func defaultObservability() Observability {
	return Observability{
		TraceSampler:    "parentbased_always_on",
		TraceSamplerArg: 1,
		ServiceName:     "shop",
		TraceQueueSize:  2048,
		TraceBatchDelay: 5 * time.Second,
		RequestIDs:      "accept",
	}
}

// observabilityFlags defines the observability flags on fs. The tracing
// flags default to the standard OpenTelemetry variables, read by lookup
// without the service's prefix, so a platform's convention
// (OTEL_EXPORTER_OTLP_ENDPOINT set for every pod) works unchanged. It
// returns a function to call after fs.Parse, which applies
// OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none (over the flags too: the
// SDK's switch wins) and reports the variables that did not parse.
func observabilityFlags(fs *flag.FlagSet, lookup func(string) (string, bool), o *Observability) (finish func() error) {
	var errs []error
	otel := func(name string) string {
		v, _ := lookup(name)
		return strings.TrimSpace(v)
	}
	number := func(p *float64, v, source string) {
		if v == "" {
			return
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: not a number", source, v))
		}
		*p = f
	}
	if v := otel("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v != "" {
		o.TraceEndpoint = v
	} else if v := otel("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
		// The general endpoint is a base URL: the signal's path is added.
		o.TraceEndpoint = strings.TrimSuffix(v, "/") + "/v1/traces"
	}
	if v := otel("OTEL_TRACES_SAMPLER"); v != "" {
		o.TraceSampler = v
	}
	number(&o.TraceSamplerArg, otel("OTEL_TRACES_SAMPLER_ARG"), "OTEL_TRACES_SAMPLER_ARG")
	if v := otel("OTEL_SERVICE_NAME"); v != "" {
		o.ServiceName = v
	}
	if v := otel("OTEL_BSP_MAX_QUEUE_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("OTEL_BSP_MAX_QUEUE_SIZE=%q: not an integer", v))
		}
		o.TraceQueueSize = n
	}
	if v := otel("OTEL_BSP_SCHEDULE_DELAY"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("OTEL_BSP_SCHEDULE_DELAY=%q: not a whole number of milliseconds", v))
		}
		o.TraceBatchDelay = time.Duration(ms) * time.Millisecond
	}
	if v, _ := lookup(EnvPrefix + "REQUEST_IDS"); v != "" {
		o.RequestIDs = v
	}
	if v, _ := lookup(EnvPrefix + "ACCESS_LOG"); v != "" {
		number(&o.AccessLog, v, EnvPrefix+"ACCESS_LOG")
	}

	fs.StringVar(&o.TraceEndpoint, "otlp-traces-endpoint", o.TraceEndpoint, "OTLP/HTTP URL to export trace spans to, such as http://127.0.0.1:4318/v1/traces; empty turns tracing off (env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT plus /v1/traces)")
	fs.StringVar(&o.TraceSampler, "trace-sampler", o.TraceSampler, "which traces to sample: always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio (env OTEL_TRACES_SAMPLER)")
	fs.Float64Var(&o.TraceSamplerArg, "trace-sampler-arg", o.TraceSamplerArg, "the traceidratio samplers' ratio, 0 to 1 (env OTEL_TRACES_SAMPLER_ARG)")
	fs.StringVar(&o.ServiceName, "service-name", o.ServiceName, "service.name of the exported spans (env OTEL_SERVICE_NAME)")
	fs.IntVar(&o.TraceQueueSize, "trace-queue-size", o.TraceQueueSize, "most spans waiting for export; past it spans are dropped and counted (env OTEL_BSP_MAX_QUEUE_SIZE)")
	fs.DurationVar(&o.TraceBatchDelay, "trace-batch-delay", o.TraceBatchDelay, "longest a span waits for its batch to be exported (env OTEL_BSP_SCHEDULE_DELAY, in milliseconds)")
	fs.StringVar(&o.RequestIDs, "request-ids", o.RequestIDs, "request ids that log lines carry: off, accept (from X-Request-Id or x-request-id metadata, echoed) or generate (accept, and a new id returned to requests without) (env "+EnvPrefix+"REQUEST_IDS)")
	fs.Float64Var(&o.AccessLog, "access-log", o.AccessLog, "fraction of HTTP requests to log one line for, 0 to 1; 0 turns the access log off (env "+EnvPrefix+"ACCESS_LOG)")

	return func() error {
		if disabled := otel("OTEL_SDK_DISABLED"); strings.EqualFold(disabled, "true") {
			o.TraceEndpoint = ""
		}
		protocol := otel("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
		if protocol == "" {
			protocol = otel("OTEL_EXPORTER_OTLP_PROTOCOL")
		}
		if protocol != "" && protocol != "http/protobuf" {
			errs = append(errs, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: this service exports OTLP over http/protobuf; point it at the collector's HTTP port (4318)", protocol))
		}
		switch exporter := otel("OTEL_TRACES_EXPORTER"); exporter {
		case "", "otlp":
		case "none":
			o.TraceEndpoint = ""
		default:
			errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: this service exports otlp or none", exporter))
		}
		export, err := tracing.ExportOptionsFromEnv(lookup)
		if err != nil {
			errs = append(errs, err)
		}
		o.TraceExport = export
		return errors.Join(errs...)
	}
}

// Validate reports the first observability setting that cannot work.
func (o Observability) Validate() error {
	if o.TraceEndpoint != "" {
		u, err := url.Parse(o.TraceEndpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("otlp-traces-endpoint %q: want an http or https URL such as http://127.0.0.1:4318/v1/traces", o.TraceEndpoint)
		}
	}
	if _, err := tracing.Sampler(o.TraceSampler, o.TraceSamplerArg); err != nil {
		return err
	}
	if o.TraceQueueSize <= 0 || o.TraceBatchDelay <= 0 {
		return fmt.Errorf("trace-queue-size %d and trace-batch-delay %s: must be positive", o.TraceQueueSize, o.TraceBatchDelay)
	}
	if _, err := reqlog.ParseIDs(o.RequestIDs); err != nil {
		return err
	}
	if o.AccessLog < 0 || o.AccessLog > 1 {
		return fmt.Errorf("access-log %v: want a fraction from 0 (off) to 1 (every request)", o.AccessLog)
	}
	return nil
}

// TracingOptions returns the options tracing.New takes.
func (o Observability) TracingOptions() tracing.Options {
	return tracing.Options{
		Endpoint:    o.TraceEndpoint,
		ServiceName: o.ServiceName,
		Sampler:     o.TraceSampler,
		SamplerArg:  o.TraceSamplerArg,
		QueueSize:   o.TraceQueueSize,
		BatchDelay:  o.TraceBatchDelay,
		Export:      o.TraceExport,
	}
}

// IDs returns the parsed RequestIDs; Validate has checked them.
func (o Observability) IDs() reqlog.IDs {
	ids, _ := reqlog.ParseIDs(o.RequestIDs)
	return ids
}
