package textdiff

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnified(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, Unified(&out, "a", "b", []byte("1\n2\n3\n"), []byte("1\ntwo\n3\n")))
	assert.Equal(t, "--- a\n+++ b\n@@ -1,3 +1,3 @@\n 1\n-2\n+two\n 3\n", out.String())

	out.Reset()
	require.NoError(t, Unified(&out, "a", "b", []byte("same\n"), []byte("same\n")))
	assert.Empty(t, out.String())

	out.Reset()
	require.NoError(t, Unified(&out, "/dev/null", "b", nil, []byte("new\n")))
	assert.Equal(t, "--- /dev/null\n+++ b\n@@ -0,0 +1 @@\n+new\n", out.String())
}
