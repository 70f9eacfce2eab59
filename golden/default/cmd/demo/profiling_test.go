package main

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
)

func TestFlightRecorderOnTheAdminPort(t *testing.T) {
	_, admin := startRun(t, "-flight-recorder", "2s")
	status, body := get(t, "http://"+admin+"/debug/flightrecorder")
	if status != http.StatusOK || !strings.HasPrefix(body, "go 1.") {
		t.Fatalf("GET /debug/flightrecorder: %d, %.40q; want 200 and an execution trace", status, body)
	}
}

func TestFlightRecorderOffByDefault(t *testing.T) {
	_, admin := startRun(t)
	if status, _ := get(t, "http://"+admin+"/debug/flightrecorder"); status != http.StatusNotFound {
		t.Fatalf("GET /debug/flightrecorder with the recorder off: %d, want 404", status)
	}
	// The defaults sample mutex contention, so /debug/pprof/mutex is not
	// always empty. (The block profile is off by default, and the runtime
	// has no way to read its rate back.)
	if got := runtime.SetMutexProfileFraction(-1); got <= 0 {
		t.Fatalf("mutex profile fraction %d after start, want it on by default", got)
	}
}

func TestProfileRatesFromFlags(t *testing.T) {
	startRun(t, "-mutex-profile-fraction", "0", "-block-profile-rate", "0")
	if got := runtime.SetMutexProfileFraction(-1); got != 0 {
		t.Fatalf("mutex profile fraction %d, want 0 from -mutex-profile-fraction 0", got)
	}
}
