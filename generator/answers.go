package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// AnswersFile is the name of the answers file written into every generated
// project; `perfgen new --config` reads the same format.
const AnswersFile = ".perfgen.yaml"

// answersHeader opens every answers file perfgen writes.
const answersHeader = "# perfgen answers: `perfgen new --config` reads this file, and `perfgen sync`\n# re-renders the project from it.\n"

// MarshalAnswers encodes s in the answers-file format. The output depends only
// on s: keys keep the order of Spec's fields and the deploy list is canonical.
func MarshalAnswers(s Spec) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(answersHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s.Normalize()); err != nil {
		return nil, fmt.Errorf("encode answers: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode answers: %w", err)
	}
	return buf.Bytes(), nil
}

// ReadAnswers decodes an answers file over base: keys the file leaves out keep
// base's values. Unknown keys and malformed YAML are errors that name the file
// and line. The result is normalized but not validated.
func ReadAnswers(name string, r io.Reader, base Spec) (Spec, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	s := base
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return base.Normalize(), nil
		}
		return Spec{}, fmt.Errorf("answers file %s: %s; fix the file or compare it with a project's %s", name, yamlMessage(err), AnswersFile)
	}
	return s.Normalize(), nil
}

var goTypeSuffix = regexp.MustCompile(` in type [\w.]+`)

// yamlMessage turns the YAML library's multi-line errors into one line.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msg = strings.Join(te.Errors, "; ")
	}
	// The Go type a key failed to decode into means nothing to the user.
	return goTypeSuffix.ReplaceAllString(msg, "")
}
