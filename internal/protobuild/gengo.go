package protobuild

import (
	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
)

// Message code comes from protoc-gen-go's own generator, the package
// google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo.
//
// Go's import rule does not stop this: it protects directories named
// exactly "internal", and "internal_gengo" is not one, so the import is
// legal, and several public generators built on protogen import it for the
// same reason perfgen does. But
// its documentation calls it "internal to the protobuf module", and the
// module promises it no compatibility. There is no supported alternative
// that keeps perfgen free of plugin binaries: protogen is the public,
// supported half (perfgen uses it for everything else), and the only
// supported way to the message code is to run protoc-gen-go as a process.
// Writing our own message generator would lose the byte-for-byte identity
// with protoc-gen-go that TestMessagesMatchProtocGenGo checks.
//
// So the risk is pinned and watched:
//   - go.mod requires one exact google.golang.org/protobuf release, and
//     TestProtobufReleaseIsTheCheckedOne fails on any other until someone
//     re-runs the comparison with protoc and moves checkedProtobufRelease;
//   - the assignment below turns a changed signature into a compile error
//     pointing here rather than at a call site;
//   - TestMessagesMatchProtocGenGo compares the output with protoc-gen-go
//     of the same release byte for byte, and the golden projects hold the
//     generated code, so a change of output shows as a diff.
var generateMessageCode func(*protogen.Plugin, *protogen.File) *protogen.GeneratedFile = gengo.GenerateFile

// checkedProtobufRelease is the google.golang.org/protobuf release whose
// internal_gengo perfgen was last checked against.
const checkedProtobufRelease = "v1.36.12"

// generateMessages writes file's message code, as protoc-gen-go would.
func generateMessages(gen *protogen.Plugin, file *protogen.File) {
	generateMessageCode(gen, file)
}
