package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/perfgen/perfgen/generator"
)

// Answers-file keys of the answers a user gives; the SLO keys are in
// sloFields.
const (
	keyName      = "name"
	keyModule    = "module"
	keyTransport = "transport"
	keyStore     = "store"
	keyCache     = "cache"
	keyCI        = "ci"
	keyDeploy    = "deploy"
)

// answers is a Spec being assembled from defaults, an answers file, flags
// and prompts, with a record of which answers the user gave.
type answers struct {
	spec generator.Spec
	// given holds the answers-file keys of every answer an answers file, a
	// flag or a prompt gave; the others still hold their defaults.
	given map[string]bool
	// output is the project directory; it is not an answer because the
	// same answers can be generated anywhere.
	output      string
	outputGiven bool
}

// defaulted returns the keys of the answers that still hold their defaults,
// in answers-file order, with the five objectives folded into "slo" when
// none was given.
func (a *answers) defaulted() []string {
	var out []string
	for _, k := range []string{keyModule, keyTransport, keyStore, keyCache, keyDeploy, keyCI} {
		if !a.given[k] {
			out = append(out, k)
		}
	}
	var slo []string
	for _, f := range sloFields {
		if !a.given[f.key] {
			slo = append(slo, f.key)
		}
	}
	if len(slo) == len(sloFields) {
		return append(out, "slo")
	}
	return append(out, slo...)
}

// answersFile is a decoded --config file.
type answersFile struct {
	spec generator.Spec
	keys map[string]bool
}

// readAnswersFile reads the answers file at name. The generator decodes it,
// rejecting malformed YAML and unknown keys with their line; keys records
// which answers the file gives, so the others can still be prompted for.
func readAnswersFile(name string) (*answersFile, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usagef("answers file %s does not exist; check the --config path", name)
		}
		return nil, usagef("read answers file %s: %w; check the --config path", name, err)
	}
	spec, err := generator.ReadAnswers(name, bytes.NewReader(data), generator.Spec{})
	if err != nil {
		return nil, usage(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// ReadAnswers accepted the file, so this cannot fail; report it
		// the same way all the same.
		return nil, usagef("answers file %s: %w", name, err)
	}
	keys := map[string]bool{}
	if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		m := doc.Content[0].Content
		for i := 0; i+1 < len(m); i += 2 {
			k, v := m[i].Value, m[i+1]
			if k != "slo" {
				keys[k] = true
				continue
			}
			if v.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(v.Content); j += 2 {
					keys["slo."+v.Content[j].Value] = true
				}
			}
		}
	}
	return &answersFile{spec: spec, keys: keys}, nil
}

// apply copies the answers the file gives onto a.
func (f *answersFile) apply(a *answers) {
	s, from := &a.spec, f.spec
	for k := range f.keys {
		switch k {
		case keyModule:
			s.Module = from.Module
		case keyTransport:
			s.Transport = from.Transport
		case keyStore:
			s.Store = from.Store
		case keyCache:
			s.Cache = from.Cache
		case keyDeploy:
			s.Deploy = from.Deploy
		case keyCI:
			s.CI = from.CI
		case "slo.p95_ms":
			s.SLO.P95Millis = from.SLO.P95Millis
		case "slo.rps":
			s.SLO.RPS = from.SLO.RPS
		case "slo.rss_mib":
			s.SLO.RSSMiB = from.SLO.RSSMiB
		case "slo.cpu_percent":
			s.SLO.CPUPercent = from.SLO.CPUPercent
		case "slo.error_percent":
			s.SLO.ErrorPercent = from.SLO.ErrorPercent
		}
		a.given[k] = true
	}
}

// describeDefaults formats the defaulted answers of a as key=value pairs for
// the no-terminal notice.
func describeDefaults(a *answers) string {
	var parts []string
	for _, k := range a.defaulted() {
		switch k {
		case keyModule:
			parts = append(parts, "module="+a.spec.Module)
		case keyTransport:
			parts = append(parts, "transport="+string(a.spec.Transport))
		case keyStore:
			parts = append(parts, "store="+string(a.spec.Store))
		case keyCache:
			parts = append(parts, fmt.Sprintf("cache=%t", a.spec.Cache))
		case keyDeploy:
			parts = append(parts, "deploy="+deployString(a.spec.Deploy))
		case keyCI:
			parts = append(parts, fmt.Sprintf("ci=%t", a.spec.CI))
		case "slo":
			parts = append(parts, "slo=defaults")
		default:
			for _, f := range sloFields {
				if f.key == k {
					parts = append(parts, k+"="+f.get(a.spec.SLO))
				}
			}
		}
	}
	return strings.Join(parts, ", ")
}
