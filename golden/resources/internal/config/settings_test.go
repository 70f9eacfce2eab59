package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestComponentDefaultsFollowTheSLO(t *testing.T) {
	cfg := Default()
	if cfg.MaxConcurrency != 1000 || cfg.ShedLatency != 100*time.Millisecond {
		t.Fatalf("MaxConcurrency %d, ShedLatency %s; want the SLO's rate x P95 and its P95", cfg.MaxConcurrency, cfg.ShedLatency)
	}
}

func TestComponentSettings(t *testing.T) {
	vars := map[string]string{
		EnvPrefix + "MAX_CONCURRENCY": "64",
		EnvPrefix + "SHED_LATENCY":    "250ms",
		EnvPrefix + "CACHE_TTL":       "5s",
		EnvPrefix + "UPSTREAMS":       "http://10.0.0.7:8080=2,http://10.0.0.8:8080",
	}
	cfg, err := Load([]string{"-batch-workers", "3"}, env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxConcurrency != 64 || cfg.ShedLatency != 250*time.Millisecond || cfg.BatchWorkers != 3 {
		t.Fatalf("got MaxConcurrency %d, ShedLatency %s, BatchWorkers %d", cfg.MaxConcurrency, cfg.ShedLatency, cfg.BatchWorkers)
	}
	if cfg.CacheTTL != 5*time.Second {
		t.Errorf("CacheTTL = %s, want 5s", cfg.CacheTTL)
	}
	if cfg.Upstreams != vars[EnvPrefix+"UPSTREAMS"] {
		t.Errorf("Upstreams = %q", cfg.Upstreams)
	}
}

func TestComponentSettingsMustBePositive(t *testing.T) {
	for _, args := range [][]string{
		{"-max-concurrency", "0"},
		{"-batch-workers", "-1"},
		{"-shed-latency", "0s"},
		{"-cache-entries", "0"},
		{"-cache-max-bytes", "0"},
		{"-cache-ttl", "0s"},
	} {
		_, err := Load(args, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(args[0], "-")) {
			t.Errorf("Load(%v) err = %v, want one naming %s", args, err, args[0])
		}
	}
}
