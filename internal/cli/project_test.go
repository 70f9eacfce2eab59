package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindProjectRoot(t *testing.T) {
	top := t.TempDir()
	writeFile(t, filepath.Join(top, "svc", ".perfgen.yaml"), "name: svc\n")
	require.NoError(t, os.MkdirAll(filepath.Join(top, "svc", "internal", "config"), 0o755))
	t.Chdir(filepath.Join(top, "svc", "internal", "config"))

	tests := []struct {
		dir, want string
		ok        bool
	}{
		{dir: ".", want: filepath.Join("..", ".."), ok: true},
		{dir: "..", want: filepath.Join("..", ".."), ok: true},
		{dir: filepath.Join("..", ".."), want: filepath.Join("..", ".."), ok: true},
		{dir: filepath.Join(top, "svc", "internal"), want: filepath.Join(top, "svc"), ok: true},
		{dir: top, ok: false},
	}
	for _, tt := range tests {
		root, ok, err := findProjectRoot(tt.dir)
		require.NoError(t, err, tt.dir)
		assert.Equal(t, tt.ok, ok, tt.dir)
		assert.Equal(t, tt.want, root, tt.dir)
	}
}
