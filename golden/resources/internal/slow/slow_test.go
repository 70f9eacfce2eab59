package slow

import (
	"context"
	"testing"
	"time"
)

func TestDelayReadsTheVariable(t *testing.T) {
	for _, tt := range []struct {
		value string
		set   bool
		want  time.Duration
	}{
		{value: "150ms", set: true, want: 150 * time.Millisecond},
		{set: false, want: defaultDelay},
		{value: "soon", set: true, want: defaultDelay},
		{value: "-1s", set: true, want: defaultDelay},
	} {
		lookup := func(k string) (string, bool) {
			if k != DelayEnv {
				t.Fatalf("Delay looked up %s, want %s", k, DelayEnv)
			}
			return tt.value, tt.set
		}
		if got := Delay(lookup); got != tt.want {
			t.Errorf("Delay with %q (set %t) = %v, want %v", tt.value, tt.set, got, tt.want)
		}
	}
}

func TestSleepEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if sleep(ctx, time.Hour) {
		t.Fatal("sleep reported the delay passed for a canceled context")
	}
	if !sleep(context.Background(), time.Millisecond) {
		t.Fatal("sleep did not report the delay passed")
	}
}
