package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// result is what one load run measured, whatever the tool.
type result struct {
	requests int64   // completed in the measured window
	errors   int64   // failed, timed out or answered with a non-2xx status
	rps      float64 // completed requests per second
	p50, p99 float64 // ms
}

// ErrNoResult is returned by the parsers when a tool's output lacks its
// summary, usually because the tool failed before the run ended.
var ErrNoResult = errors.New("no summary in the load tool's output; see its output above")

var (
	wrkRPS       = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkRequests  = regexp.MustCompile(`(?m)^\s*([0-9]+) requests in ([0-9.]+)(us|ms|s|m),`)
	wrkPercent   = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	wrkNon2xx    = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+([0-9]+)`)
	wrkSocketErr = regexp.MustCompile(`(?m)^\s*Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
)

// parseWrk reads the summary wrk prints with --latency.
func parseWrk(out string) (result, error) {
	var r result
	m := wrkRPS.FindStringSubmatch(out)
	n := wrkRequests.FindStringSubmatch(out)
	ps := wrkPercent.FindAllStringSubmatch(out, -1)
	if m == nil || n == nil || len(ps) != 2 {
		return r, ErrNoResult
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	r.requests, _ = strconv.ParseInt(n[1], 10, 64)
	for _, p := range ps {
		v, _ := strconv.ParseFloat(p[2], 64)
		ms := v * unitMillis[p[3]]
		if p[1] == "50" {
			r.p50 = ms
		} else {
			r.p99 = ms
		}
	}
	if e := wrkNon2xx.FindStringSubmatch(out); e != nil {
		v, _ := strconv.ParseInt(e[1], 10, 64)
		r.errors += v
	}
	if e := wrkSocketErr.FindStringSubmatch(out); e != nil {
		for _, s := range e[1:] {
			v, _ := strconv.ParseInt(s, 10, 64)
			r.errors += v
		}
	}
	return r, nil
}

var unitMillis = map[string]float64{"us": 1e-3, "ms": 1, "s": 1e3, "m": 60e3}

var (
	h2Finished = regexp.MustCompile(`(?m)^finished in ([0-9.]+)(us|ms|s|m), ([0-9.]+) req/s`)
	h2Requests = regexp.MustCompile(`(?m)^requests: ([0-9]+) total, ([0-9]+) started, ([0-9]+) done, ([0-9]+) succeeded, ([0-9]+) failed, ([0-9]+) errored, ([0-9]+) timeout`)
	h2Status   = regexp.MustCompile(`(?m)^status codes: [0-9]+ 2xx, [0-9]+ 3xx, [0-9]+ 4xx, [0-9]+ 5xx`)
)

// parseH2load reads h2load's summary. h2load prints no percentiles, so
// p50 and p99 come from its per-request log, and so does the rate (see
// parseH2loadLog).
func parseH2load(out string) (result, error) {
	var r result
	f := h2Finished.FindStringSubmatch(out)
	q := h2Requests.FindStringSubmatch(out)
	if f == nil || q == nil || !h2Status.MatchString(out) {
		return r, ErrNoResult
	}
	r.rps, _ = strconv.ParseFloat(f[3], 64)
	// succeeded counts 2xx and 3xx answers; failed counts the rest of
	// the done requests: errors, timeouts and other statuses.
	r.requests, _ = strconv.ParseInt(q[4], 10, 64)
	r.errors, _ = strconv.ParseInt(q[5], 10, 64)
	return r, nil
}

var h2Counts = regexp.MustCompile(`(?m)^(?:requests: .* ([0-9]+) errored, ([0-9]+) timeout|status codes: .*, ([0-9]+) 4xx, ([0-9]+) 5xx)`)

// h2loadErrorKinds describes the failed requests of h2load's summary by
// kind: answered with a 4xx or 5xx status, errored (a connection or
// protocol failure, timeouts included) and timed out.
func h2loadErrorKinds(out string) []string {
	var kinds []string
	for _, m := range h2Counts.FindAllStringSubmatch(out, 2) {
		for i, kind := range []string{"errored", "timed out", "status 4xx", "status 5xx"} {
			if n := m[i+1]; n != "" && n != "0" {
				kinds = append(kinds, n+" x "+kind)
			}
		}
	}
	return kinds
}

// h2loadLog is what h2load's per-request log says of a run.
type h2loadLog struct {
	requests int64   // lines kept: requests that started in the window
	rps      float64 // requests over the time from the first start to the last end
	p50, p99 float64 // ms
}

// parseH2loadLog reads h2load's --log-file: one line per request,
// tab-separated start time (µs since the epoch), status and duration (µs).
// Requests that started before from are left out: h2load logs every
// request that ends in its measured window, so the last requests of its
// warm-up are there too.
//
// The rate is the log's own, not the summary's: h2load divides by the
// nominal -D, while its measured window can run longer than that on a busy
// machine.
func parseH2loadLog(log io.Reader, from time.Time) (h2loadLog, error) {
	var us []float64
	first, last := int64(math.MaxInt64), int64(0)
	cut := from.UnixMicro()
	sc := bufio.NewScanner(log)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			return h2loadLog{}, fmt.Errorf("h2load log line %q: want start, status and duration", sc.Text())
		}
		start, err1 := strconv.ParseInt(fields[0], 10, 64)
		d, err2 := strconv.ParseInt(fields[2], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return h2loadLog{}, fmt.Errorf("h2load log line %q: %w", sc.Text(), err)
		}
		if start < cut {
			continue
		}
		us = append(us, float64(d))
		first, last = min(first, start), max(last, start+d)
	}
	if err := sc.Err(); err != nil {
		return h2loadLog{}, err
	}
	if len(us) == 0 {
		return h2loadLog{}, ErrNoResult
	}
	slices.Sort(us)
	l := h2loadLog{requests: int64(len(us)), p50: percentile(us, 50) / 1000, p99: percentile(us, 99) / 1000}
	if last > first {
		l.rps = float64(len(us)) / (float64(last-first) / 1e6)
	}
	return l, nil
}

// percentile is the nearest-rank percentile of sorted xs.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// parseProcStat returns a process's user + system CPU time from the
// contents of /proc/PID/stat. The command name (field 2) may hold spaces
// and parentheses, so fields are counted from the last ')'.
func parseProcStat(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat %q", stat)
	}
	// After ")": state (field 3) ... utime is field 14, stime field 15.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc stat %q", stat)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("malformed /proc stat: %w", err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// clientBoundShare is the share of its core above which a load client is
// judged to have limited the run: past it, the client's own scheduling and
// system calls, not the server, set the pace.
const clientBoundShare = 0.60

// clientBound reports whether a run's client used more than
// clientBoundShare of the one core it was pinned to.
func clientBound(clientCPU float64) bool { return clientCPU > clientBoundShare }
