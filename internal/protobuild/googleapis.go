package protobuild

import (
	"embed"
	"io"
	"io/fs"
	"strings"

	"github.com/bufbuild/protocompile"
)

// googleAPIs holds google/api/annotations.proto and google/api/http.proto,
// the files that declare the google.api.http method option. They are
// resolved like the standard imports: a .proto may import them with nothing
// downloaded. They are never generated into the user's project: their
// go_package is google.golang.org/genproto/googleapis/api/annotations, which
// the project requires at GoogleAPIsModuleVersion.
//
//go:embed googleapis/google/api/*.proto
var googleAPIs embed.FS

// GoogleAPIsModule is the Go module holding the Go code of the embedded
// google/api files; a project whose .proto imports them requires it.
const GoogleAPIsModule = "google.golang.org/genproto/googleapis/api"

// GoogleAPIsModuleVersion is the version of GoogleAPIsModule the embedded
// files are checked against: the test in testdata/httpmod reads the
// google.api.http option of perfgen's output through that module's Go types.
// It is the version gRPC-Go v1.85.0 itself requires, so pinning it adds no
// upgrade to a project that uses gRPC.
const GoogleAPIsModuleVersion = "v0.0.0-20260817212433-ac3dfec99bb1"

// withGoogleAPIs returns an accessor that opens the sources first and then
// the embedded google/api files, so a project's own copy of those wins.
func withGoogleAPIs(sources map[string]string) func(string) (io.ReadCloser, error) {
	fromSources := protocompile.SourceAccessorFromMap(sources)
	return func(name string) (io.ReadCloser, error) {
		if _, ok := sources[name]; ok || !strings.HasPrefix(name, "google/api/") {
			return fromSources(name)
		}
		f, err := googleAPIs.Open("googleapis/" + name)
		if err != nil {
			return nil, fs.ErrNotExist
		}
		return f, nil
	}
}
