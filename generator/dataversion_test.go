package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// dataFields lists every field a template can reach, as a template writes it
// (.SLO.P95Millis), with its type: the fields of Data and, recursively, of
// the structs of this package it holds, directly or in slices.
func dataFields(prefix string, t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := prefix + "." + f.Name
		out = append(out, name+" "+f.Type.String())
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath():
			out = append(out, dataFields(name, f.Type)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct && f.Type.Elem().PkgPath() == t.PkgPath():
			// {{range}} reaches the fields of each element.
			out = append(out, dataFields(name+"[]", f.Type.Elem())...)
		}
	}
	return out
}

// readDataFields reads the fields testdata records for template-data
// version v, or nil when it records none.
func readDataFields(t *testing.T, v int) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", fmt.Sprintf("data-v%d.txt", v)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestDataChangesNameEveryField holds DataVersion and DataChanges to the
// fields of Data: the fields are those testdata/data-vN.txt records for the
// current version N, and every field added since version N-1 (for version 1,
// every top-level field) is named in DataChanges[N]. A field added, renamed
// or removed without raising DataVersion fails here, so a custom template
// directory written for the old data is told what changed instead of
// rendering with it.
func TestDataChangesNameEveryField(t *testing.T) {
	got := dataFields("", reflect.TypeFor[Data]())
	want := readDataFields(t, DataVersion)
	require.Equal(t, want, got,
		"Data's fields differ from testdata/data-v%d.txt: raise DataVersion to %d, say in DataChanges what was added, renamed or removed, and write the list above to testdata/data-v%d.txt",
		DataVersion, DataVersion+1, DataVersion+1)

	// A field is named when it or a field that holds it is: the fields of
	// a new struct are new with it.
	named := func(v int, field string) bool {
		for {
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(field) + `\b`).MatchString(DataChanges[v]) {
				return true
			}
			i := strings.LastIndex(field, ".")
			if i < 0 {
				return false
			}
			field = strings.TrimSuffix(field[:i], "[]")
		}
	}
	if DataVersion == 1 {
		for _, f := range reflect.VisibleFields(reflect.TypeFor[Data]()) {
			assert.True(t, named(1, f.Name), "DataChanges[1] does not name %s", f.Name)
		}
		return
	}
	before := readDataFields(t, DataVersion-1)
	for _, f := range got {
		if !slices.Contains(before, f) {
			path, _, _ := strings.Cut(f, " ")
			assert.True(t, named(DataVersion, strings.TrimPrefix(path, ".")), "DataChanges[%d] does not name %s, which version %d adds or changes", DataVersion, path, DataVersion)
		}
	}
}
