package generator

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAnswersRoundTrip(t *testing.T) {
	s := DefaultSpec("orders")
	s.Transport = TransportGRPC
	s.Store = StorePostgres
	s.Cache = false
	s.Deploy = []Deploy{DeployK8s, DeployDocker}
	s.SLO.ErrorPercent = 0.25
	out, err := MarshalAnswers(s)
	require.NoError(t, err)
	got, err := ReadAnswers("x.yaml", bytes.NewReader(out), DefaultSpec("other"))
	require.NoError(t, err)
	assert.Equal(t, s.Normalize(), got)

	again, err := MarshalAnswers(got)
	require.NoError(t, err)
	assert.Equal(t, string(out), string(again), "marshalling is stable")
}

func TestReadAnswersKeepsBaseForMissingKeys(t *testing.T) {
	got, err := ReadAnswers("x.yaml", strings.NewReader("name: orders\ncache: false\n"), DefaultSpec("orders"))
	require.NoError(t, err)
	want := DefaultSpec("orders")
	want.Cache = false
	assert.Equal(t, want, got)

	got, err = ReadAnswers("empty.yaml", strings.NewReader(""), DefaultSpec("orders"))
	require.NoError(t, err)
	assert.Equal(t, DefaultSpec("orders"), got)
}

func TestReadAnswersErrorsNameFileAndLine(t *testing.T) {
	tests := map[string]string{
		"name: orders\ncolour: blue\n":     "answers file a.yaml: line 2: field colour not found",
		"name: orders\ncache: maybe\n":     "answers file a.yaml: line 2: cannot unmarshal",
		"name: orders\nslo:\n  rps: [1]\n": "answers file a.yaml: line 3: cannot unmarshal",
		"name: orders\n  module: : x\n":    "answers file a.yaml: line 2",
		"- just\n- a list\n":               "answers file a.yaml: line 1: cannot unmarshal",
	}
	for in, want := range tests {
		_, err := ReadAnswers("a.yaml", strings.NewReader(in), DefaultSpec("orders"))
		if assert.Error(t, err, in) {
			assert.Contains(t, err.Error(), want, in)
			assert.NotContains(t, err.Error(), "\n", "one line")
		}
	}
}
