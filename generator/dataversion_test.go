package generator

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/perfgen/perfgen/templates"
)

func TestDataVersionMismatchSaysWhatChanged(t *testing.T) {
	changes := map[int]string{1: "first", 2: "Ports.Admin added", 3: "Cache renamed to CacheOn"}
	assert.NoError(t, checkDataVersion(3, 3, changes))
	assert.EqualError(t, checkDataVersion(1, 3, changes),
		"templates declare template-data version 1, but this perfgen has version 3 (version 2: Ports.Admin added; version 3: Cache renamed to CacheOn); update the templates, then set the version to 3")
	assert.EqualError(t, checkDataVersion(4, 3, changes),
		"templates declare template-data version 4, but this perfgen has version 3; upgrade perfgen")
	for v := 1; v <= DataVersion; v++ {
		assert.NotEmpty(t, DataChanges[v], "DataChanges has no entry for version %d", v)
	}
}

func TestLockRecordsEveryFileButItself(t *testing.T) {
	files, err := Render(templates.FS, DefaultSpec("demo"))
	assert.NoError(t, err)
	lf, ok := files.Lookup(LockFile)
	if !assert.True(t, ok) {
		return
	}
	lock, err := ReadLock(LockFile, bytes.NewReader(lf.Content))
	assert.NoError(t, err)
	assert.Equal(t, DataVersion, lock.DataVersion)
	assert.Equal(t, OriginBuiltin, lock.Templates)
	assert.Equal(t, DefaultSpec("demo").Normalize(), lock.Answers)
	assert.Len(t, lock.Files, len(files)-1)
	for _, f := range files {
		if f.Path == LockFile {
			continue
		}
		h, ok := lock.Lookup(f.Path)
		assert.True(t, ok, f.Path)
		assert.Equal(t, Hash(f.Content), h, f.Path)
	}
}
