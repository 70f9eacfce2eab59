package generator_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// TestMaxConcurrencyFollowsLittlesLaw: the default concurrency ceiling is
// the in-flight count at the SLO's rate and P95 latency, never below 1.
func TestMaxConcurrencyFollowsLittlesLaw(t *testing.T) {
	tests := []struct {
		rps, p95ms, want int
	}{
		{10000, 100, 1000},
		{500, 20, 10},
		{1, 1, 1},
	}
	for _, tt := range tests {
		spec := generator.DefaultSpec("svc")
		spec.SLO.RPS, spec.SLO.P95Millis = tt.rps, tt.p95ms
		d, err := generator.NewData(spec)
		require.NoError(t, err)
		assert.Equal(t, tt.want, d.MaxConcurrency, "rps %d, p95 %d ms", tt.rps, tt.p95ms)
	}
}
