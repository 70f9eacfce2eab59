package config

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// testDatabaseURL stands in for the DATABASE_URL Load requires; nothing
// connects to it.
const testDatabaseURL = "postgres://app:s3cret@db.internal:5432/app"

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		if !ok && k == "DATABASE_URL" {
			return testDatabaseURL, true
		}
		return v, ok
	}
}

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatalf("Load with nothing set: %v", err)
	}
	want := Default()
	want.Database.URL = testDatabaseURL
	if cfg != want {
		t.Fatalf("Load() = %+v, want Default() %+v", cfg, want)
	}
	if !strings.HasPrefix(cfg.AdminAddr, "127.0.0.1:") {
		t.Fatalf("admin address %q must default to loopback", cfg.AdminAddr)
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	vars := map[string]string{
		EnvPrefix + "ADMIN_ADDR":       ":9999",
		EnvPrefix + "LOG_LEVEL":        "debug",
		EnvPrefix + "SHUTDOWN_TIMEOUT": "3s",
		EnvPrefix + "STORE_TIMEOUT":    "2s",
	}
	cfg, err := Load([]string{"-shutdown-timeout", "7s"}, env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AdminAddr != ":9999" {
		t.Errorf("AdminAddr = %q, want the environment's :9999", cfg.AdminAddr)
	}
	if cfg.LogLevel != slog.LevelDebug {
		t.Errorf("LogLevel = %v, want debug", cfg.LogLevel)
	}
	if cfg.ShutdownTimeout != 7*time.Second {
		t.Errorf("ShutdownTimeout = %v, want the flag's 7s over the environment's 3s", cfg.ShutdownTimeout)
	}
	if cfg.StoreTimeout != 2*time.Second {
		t.Errorf("StoreTimeout = %v, want the environment's 2s", cfg.StoreTimeout)
	}
}

func TestGRPCSettings(t *testing.T) {
	vars := map[string]string{
		EnvPrefix + "GRPC_REFLECTION":    "false",
		EnvPrefix + "GRPC_MAX_MSG_BYTES": "1024",
	}
	cfg, err := Load([]string{"-grpc-max-concurrent-streams", "8"}, env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCReflection || cfg.GRPCMaxMsgBytes != 1024 || cfg.GRPCMaxConcurrentStreams != 8 {
		t.Fatalf("gRPC settings = reflection %t, max message %d, streams %d; want false, 1024, 8",
			cfg.GRPCReflection, cfg.GRPCMaxMsgBytes, cfg.GRPCMaxConcurrentStreams)
	}
}

func TestInvalidValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"bad duration in env", nil, map[string]string{EnvPrefix + "SHUTDOWN_TIMEOUT": "soon"}, "not a duration"},
		{"negative duration", []string{"-shutdown-timeout", "-1s"}, nil, "must be positive"},
		{"bad address", []string{"-admin-addr", "nohost"}, nil, "want host:port"},
		{"bad log level", []string{"-log-level", "loud"}, nil, "log level"},
		{"stray argument", []string{"serve"}, nil, "unexpected argument"},
		{"zero store timeout", []string{"-store-timeout", "0s"}, nil, "store-timeout 0s: must be positive"},
		{"negative block profile rate", []string{"-block-profile-rate", "-1"}, nil, "must not be negative"},
		{"negative flight recorder window", nil, map[string]string{EnvPrefix + "FLIGHT_RECORDER": "-5s"}, "must not be negative"},
		{"bad integer in env", nil, map[string]string{EnvPrefix + "MAX_BODY_BYTES": "1MB"}, "not an integer"},
		{"zero body limit", []string{"-max-body-bytes", "0"}, nil, "must be positive"},
		{"store call outlives write", []string{"-store-timeout", "20s", "-write-timeout", "10s"}, nil, "store-timeout 20s must be shorter than write-timeout"},
		{"store call as long as write", nil, map[string]string{EnvPrefix + "STORE_TIMEOUT": "15s"}, "must be shorter than write-timeout 15s"},
		{"bad boolean in env", nil, map[string]string{EnvPrefix + "GRPC_REFLECTION": "maybe"}, "not a boolean"},
		{"zero gRPC message limit", []string{"-grpc-max-msg-bytes", "0"}, nil, "must be positive"},
		{"too many gRPC streams", []string{"-grpc-max-concurrent-streams", "5000000000"}, nil, "at most 4294967295"},
		{"no database", nil, map[string]string{"DATABASE_URL": ""}, "DATABASE_URL"},
		{"min conns above max", []string{"-db-max-conns", "4", "-db-min-conns", "5"}, nil, "db-min-conns"},
		{"pool size overflows", []string{"-db-max-conns", "4294967296"}, nil, "out of range"},
		{"bad boolean in env", nil, map[string]string{EnvPrefix + "DB_MIGRATE": "maybe"}, "not a boolean"},
		{"zero slow query", nil, map[string]string{EnvPrefix + "DB_SLOW_QUERY": "0s"}, "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, env(tt.vars), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDatabaseSettings(t *testing.T) {
	vars := map[string]string{
		"DATABASE_URL":                     "postgres://shared@db/shared",
		EnvPrefix + "DATABASE_URL":         "postgres://own@db/own",
		EnvPrefix + "DB_MAX_CONNS":         "40",
		EnvPrefix + "DB_MAX_CONN_LIFETIME": "1h",
		EnvPrefix + "DB_MIGRATE":           "false",
	}
	cfg, err := Load([]string{"-db-slow-query", "250ms"}, env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	db := cfg.Database
	if db.URL != "postgres://own@db/own" {
		t.Errorf("URL = %q, want %sDATABASE_URL over DATABASE_URL", db.URL, EnvPrefix)
	}
	if db.MaxConns != 40 || db.MaxConnLifetime != time.Hour || db.SlowQuery != 250*time.Millisecond || cfg.MigrateOnStart {
		t.Errorf("settings = %+v, migrate %v; want the environment's and the flag's values", db, cfg.MigrateOnStart)
	}
	if db.MinConns != Default().Database.MinConns {
		t.Errorf("MinConns = %d, want the default %d", db.MinConns, Default().Database.MinConns)
	}

	cfg, err = Load([]string{"-database-url", "postgres://flag@db/flag"}, env(vars), io.Discard)
	if err != nil || cfg.Database.URL != "postgres://flag@db/flag" {
		t.Errorf("URL = %q (%v), want the flag's", cfg.Database.URL, err)
	}
}

func TestHelpHidesTheDatabasePassword(t *testing.T) {
	var out strings.Builder
	_, err := Load([]string{"-h"}, env(nil), &out)
	if err == nil {
		t.Fatal("Load -h succeeded")
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Fatalf("-h prints the database password:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "-db-max-conns") {
		t.Fatalf("-h does not list the pool settings:\n%s", out.String())
	}
}
