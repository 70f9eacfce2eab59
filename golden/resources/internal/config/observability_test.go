package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestTracingIsOffByDefault(t *testing.T) {
	cfg, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.Observability; o.TraceEndpoint != "" || o.TraceSampler != "parentbased_always_on" || o.ServiceName != "shop" || o.RequestIDs != "accept" || o.AccessLog != 0 {
		t.Fatalf("defaults %+v: want tracing and the access log off, request ids accepted", o)
	}
}

func TestOTELVariables(t *testing.T) {
	for _, tc := range []struct {
		name     string
		vars     map[string]string
		args     []string
		endpoint string
	}{
		{"base endpoint gets the traces path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, nil, "http://collector:4318/v1/traces"},
		{"traces endpoint is taken as it is", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/custom"}, nil, "https://b/custom"},
		{"the flag wins over the variable", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}, []string{"-otlp-traces-endpoint", "http://c:4318/v1/traces"}, "http://c:4318/v1/traces"},
		{"OTEL_SDK_DISABLED turns it off", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "true"}, []string{"-otlp-traces-endpoint", "http://c:4318/v1/traces"}, ""},
		{"OTEL_TRACES_EXPORTER=none turns it off", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_TRACES_EXPORTER": "none"}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(tc.args, env(tc.vars), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Observability.TraceEndpoint; got != tc.endpoint {
				t.Fatalf("endpoint %q, want %q", got, tc.endpoint)
			}
		})
	}

	cfg, err := Load(nil, env(map[string]string{
		"OTEL_TRACES_SAMPLER":     "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG": "0.25",
		"OTEL_SERVICE_NAME":       "checkout",
		"OTEL_BSP_MAX_QUEUE_SIZE": "100",
		"OTEL_BSP_SCHEDULE_DELAY": "250",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Observability
	if o.TraceSampler != "parentbased_traceidratio" || o.TraceSamplerArg != 0.25 || o.ServiceName != "checkout" || o.TraceQueueSize != 100 || o.TraceBatchDelay != 250*time.Millisecond {
		t.Fatalf("from the OTEL_* variables: %+v", o)
	}
}

func TestBadObservabilitySettings(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		args []string
		want string
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, nil, "otlp-traces-endpoint"},
		{map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, nil, "trace sampler"},
		{map[string]string{"OTEL_TRACES_SAMPLER_ARG": "half"}, nil, "OTEL_TRACES_SAMPLER_ARG"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, nil, "OTEL_TRACES_EXPORTER"},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, nil, "http/protobuf"},
		{nil, []string{"-trace-queue-size", "0"}, "trace-queue-size"},
		{nil, []string{"-access-log", "2"}, "access-log"},
		{map[string]string{EnvPrefix + "REQUEST_IDS": "always"}, nil, "request ids"},
	} {
		_, err := Load(tc.args, env(tc.vars), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%v, %v) = %v, want an error naming %s", tc.args, tc.vars, err, tc.want)
		}
	}
}
