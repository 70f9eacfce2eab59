package profiling

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"
)

func TestSetRatesFillsTheMutexProfile(t *testing.T) {
	defer SetRates(0, 0)
	SetRates(1, 1)
	if got := runtime.SetMutexProfileFraction(-1); got != 1 {
		t.Fatalf("mutex profile fraction = %d, want 1", got)
	}
	// Contend on a mutex until the profile records it.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				mu.Lock()
				time.Sleep(time.Microsecond)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n := pprof.Lookup("mutex").Count(); n == 0 {
		t.Fatal("the mutex profile is empty after contention")
	}
	if n := pprof.Lookup("block").Count(); n == 0 {
		t.Fatal("the block profile is empty after goroutines blocked")
	}
}

func TestFlightRecorderOffAnswers404(t *testing.T) {
	f, err := StartFlightRecorder(0)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/flightrecorder", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d with the recorder off, want 404", rec.Code)
	}
}

func TestFlightRecorderWritesATrace(t *testing.T) {
	f, err := StartFlightRecorder(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	// Something to record.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { time.Sleep(time.Millisecond) })
	}
	wg.Wait()

	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/flightrecorder", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	// Every execution trace starts with this header, which go tool trace checks.
	if !bytes.HasPrefix(rec.Body.Bytes(), []byte("go 1.")) {
		t.Fatalf("not an execution trace: %q", rec.Body.Bytes()[:min(16, rec.Body.Len())])
	}

	f.Stop()
	rec = httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/flightrecorder", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d after Stop, want 404", rec.Code)
	}
}

func TestFlightRecorderOneSnapshotAtATime(t *testing.T) {
	f, err := StartFlightRecorder(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	f.mu.Lock() // a snapshot in progress
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/flightrecorder", nil))
	f.mu.Unlock()
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d during another snapshot, want 429", rec.Code)
	}
}
