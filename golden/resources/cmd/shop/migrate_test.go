package main

import (
	"context"
	"strings"
	"testing"

	"example.com/shop/internal/pgtest"
)

func TestMigrateCommand(t *testing.T) {
	url := pgtest.NewDatabase(t)
	env := func(k string) (string, bool) {
		if k == "DATABASE_URL" {
			return url, true
		}
		return "", false
	}
	migrate := func(args ...string) string {
		t.Helper()
		var out, errOut strings.Builder
		if err := run(context.Background(), append([]string{"migrate"}, args...), env, &out, &errOut); err != nil {
			t.Fatalf("migrate %v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}

	if out := migrate("status"); !strings.Contains(out, "0001") || !strings.Contains(out, "pending") {
		t.Fatalf("status on an empty database:\n%s\nwant 0001 pending", out)
	}
	if out := migrate("up"); !strings.Contains(out, "applied 0001_create_items") {
		t.Fatalf("first up:\n%s\nwant 0001_create_items applied", out)
	}
	if out := migrate("up"); !strings.Contains(out, "up to date") {
		t.Fatalf("second up:\n%s\nwant nothing to do", out)
	}
	if out := migrate("status"); strings.Contains(out, "pending") || !strings.Contains(out, "applied") {
		t.Fatalf("status after up:\n%s\nwant every migration applied", out)
	}
}

func TestMigrateCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"migrate"}, {"migrate", "down"}} {
		var errOut strings.Builder
		err := run(context.Background(), args, noEnv, &errOut, &errOut)
		if err == nil || !strings.Contains(err.Error(), "migrate up|status") {
			t.Errorf("run %v: err = %v, want the usage", args, err)
		}
	}
	// Without a database to talk to, migrate says which setting is missing.
	err := run(context.Background(), []string{"migrate", "up"}, noEnv, &strings.Builder{}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("migrate up without a database: err = %v, want it to name DATABASE_URL", err)
	}
}
