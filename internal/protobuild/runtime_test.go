package protobuild

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecoderCallsMatchesThePattern checks decoderCalls against the regular
// expression it stands for, \bd\.m\b, for every method of the decoder: on
// code made to trip a scanner up and on generated HTTP code.
func TestDecoderCallsMatchesThePattern(t *testing.T) {
	var methods []string
	for _, d := range runtimeDecls {
		if typ, m, ok := strings.Cut(d.names[0], "."); ok && typ == "jsonDecoder" {
			methods = append(methods, m)
		}
	}
	require.NotEmpty(t, methods)
	generated, err := os.ReadFile("../../golden/default/api/proto/demo/v1/demo_http.pb.go")
	require.NoError(t, err)
	for name, code := range map[string]string{
		"empty":               "",
		"at the start":        "d.string()",
		"at the end":          "x := d.bool",
		"longer name":         "d.stringValue() + d.int32x()",
		"inside a word":       "xd.string() + _d.bool() + 9d.bytes()",
		"field of d":          "d.d.string()",
		"after punctuation":   "(d.object)\n\td.skip(); f(d.int(64))",
		"no name":             "d.() d. d.\n",
		"overlapping":         "d.d.d.array()",
		"generated HTTP code": string(generated),
	} {
		called := decoderCalls([]byte(code))
		for _, m := range methods {
			want := regexp.MustCompile(`\bd\.` + m + `\b`).MatchString(code)
			assert.Equal(t, want, called[m], "%s: method %s", name, m)
		}
	}
}
