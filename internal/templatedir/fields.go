package templatedir

import (
	"fmt"
	"io"
	"reflect"

	"github.com/perfgen/perfgen/generator"
)

// Fields writes every field a template can use, one per line, as it is
// written in a template (.SLO.P95Millis) with its Go type. Every template
// receives the same data, so this is the list for each of them.
func Fields(w io.Writer) {
	writeFields(w, "", reflect.TypeFor[generator.Data]())
}

func writeFields(w io.Writer, prefix string, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := prefix + "." + f.Name
		fmt.Fprintf(w, "%-28s %s\n", name, typeName(f.Type))
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() {
			writeFields(w, name, f.Type)
		}
	}
}

// typeName writes a type as a template author sees it, without package
// paths.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "[]" + typeName(t.Elem())
	case reflect.Struct:
		return "struct " + t.Name()
	}
	if t.Name() != "" && t.PkgPath() != "" {
		return fmt.Sprintf("%s (%s)", t.Name(), t.Kind())
	}
	return t.String()
}
