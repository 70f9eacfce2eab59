package protobuild

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
)

// TestProtobufReleaseIsTheCheckedOne fails when go.mod moves
// google.golang.org/protobuf to a release whose internal_gengo (see
// gengo.go) has not been checked. To upgrade: install the matching
// protoc-gen-go (make tools), run go test ./internal/protobuild with protoc
// on PATH so that TestMessagesMatchProtocGenGo compares the output byte for
// byte, regenerate the goldens, then set checkedProtobufRelease.
func TestProtobufReleaseIsTheCheckedOne(t *testing.T) {
	const gomod = "../../go.mod"
	data, err := os.ReadFile(gomod)
	require.NoError(t, err)
	f, err := modfile.ParseLax(gomod, data, nil)
	require.NoError(t, err)
	for _, r := range f.Require {
		if r.Mod.Path == "google.golang.org/protobuf" {
			require.Equal(t, checkedProtobufRelease, r.Mod.Version,
				"go.mod requires google.golang.org/protobuf %s, but perfgen's use of protoc-gen-go/internal_gengo was checked against %s; see gengo.go for how to check the new release", r.Mod.Version, checkedProtobufRelease)
			return
		}
	}
	t.Fatalf("%s does not require google.golang.org/protobuf", gomod)
}
