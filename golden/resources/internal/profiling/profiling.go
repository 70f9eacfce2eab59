// Package profiling turns on what net/http/pprof cannot show by default:
// the block and mutex profiles, which stay empty until their sampling rates
// are set, and a flight recorder that keeps the last seconds of the runtime
// execution trace in memory, to be written out after something went wrong
// rather than traced from now on.
package profiling

import (
	"net/http"
	"runtime"
	"runtime/trace"
	"sync"
	"time"
)

// SetRates sets the runtime's sampling of blocking events (one per
// blockRate nanoseconds spent blocked) and of mutex contention (one in
// mutexFraction contended events). Zero turns either off.
func SetRates(blockRate, mutexFraction int) {
	runtime.SetBlockProfileRate(blockRate)
	runtime.SetMutexProfileFraction(mutexFraction)
}

// MaxFlightBytes bounds the flight recorder's window: at a high request rate
// the trace grows by megabytes a second, and the window must not grow with
// it.
const MaxFlightBytes = 32 << 20

// FlightRecorder serves a snapshot of the recent execution trace. The zero
// value, and a recorder created with no window, is off and answers 404.
type FlightRecorder struct {
	fr *trace.FlightRecorder
	mu sync.Mutex // the runtime allows one snapshot at a time
}

// StartFlightRecorder starts recording a window of at least window of the
// execution trace, bounded by MaxFlightBytes. A window of 0 returns a
// recorder that is off and costs nothing.
func StartFlightRecorder(window time.Duration) (*FlightRecorder, error) {
	if window <= 0 {
		return &FlightRecorder{}, nil
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: window, MaxBytes: MaxFlightBytes})
	if err := fr.Start(); err != nil {
		return nil, err
	}
	return &FlightRecorder{fr: fr}, nil
}

// Stop stops recording; a stopped recorder answers 404.
func (f *FlightRecorder) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fr != nil {
		f.fr.Stop()
		f.fr = nil
	}
}

// ServeHTTP writes the recorded window as a trace file for `go tool trace`.
// A second request while one is being written gets 429.
func (f *FlightRecorder) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if !f.mu.TryLock() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "a snapshot is being written; retry", http.StatusTooManyRequests)
		return
	}
	defer f.mu.Unlock()
	if f.fr == nil {
		http.Error(w, "the flight recorder is off; start the service with -flight-recorder=10s", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="flight.trace"`)
	if n, err := f.fr.WriteTo(w); err != nil && n == 0 {
		// Nothing was sent yet, so the status can still say so.
		w.Header().Del("Content-Disposition")
		http.Error(w, "write the flight recorder's trace: "+err.Error(), http.StatusInternalServerError)
	}
}
