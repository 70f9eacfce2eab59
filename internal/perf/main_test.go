package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteSectionReplacesOnlyItsSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "performance.md")
	before := "# Performance\n\n## Rendering\n\nkept\n\n" + heading + "\n\nold figures\n\n## Later\n\nalso kept\n"
	require.NoError(t, os.WriteFile(path, []byte(before), 0o644))

	require.NoError(t, writeSection(path, heading+"\n\nnew figures\n"))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "# Performance\n\n## Rendering\n\nkept\n\n"+heading+"\n\nnew figures\n\n## Later\n\nalso kept\n", string(got))

	// Running again changes nothing.
	require.NoError(t, writeSection(path, heading+"\n\nnew figures\n"))
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(got), string(again))
}

func TestWriteSectionAppendsWhenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "performance.md")
	require.NoError(t, os.WriteFile(path, []byte("# Performance\n\nintro\n"), 0o644))
	require.NoError(t, writeSection(path, heading+"\n\nfigures\n"))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "# Performance\n\nintro\n\n"+heading+"\n\nfigures\n", string(got))
}

func TestMedian(t *testing.T) {
	rps := func(m measurement) float64 { return m.maxRPS }
	assert.Equal(t, 2.0, median([]measurement{{maxRPS: 3}, {maxRPS: 1}, {maxRPS: 2}}, rps))
	assert.Equal(t, 2.5, median([]measurement{{maxRPS: 3}, {maxRPS: 2}}, rps))
}

func TestRoundRatios(t *testing.T) {
	rps := func(m measurement) float64 { return m.maxRPS }
	g := []measurement{{maxRPS: 110}, {maxRPS: 90}, {maxRPS: 50}}
	bare := []measurement{{maxRPS: 100}, {maxRPS: 100}, {maxRPS: 0}}
	assert.Equal(t, "1.10, 0.90, n/a", roundRatios(g, bare, rps))
}
