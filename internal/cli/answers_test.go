package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/perfgen/perfgen/generator"
)

// specKeys returns the answers-file key of every answer in generator.Spec,
// from its yaml tags, with the keys of a nested struct as "group.key".
func specKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		sf := t.Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if key == "-" {
			continue // not an answer: the answers file leaves it out
		}
		if sf.Type.Kind() == reflect.Struct {
			keys = append(keys, specKeys(sf.Type, prefix+key+".")...)
			continue
		}
		keys = append(keys, prefix+key)
	}
	return keys
}

// TestFieldsCoverTheSpec fails when an answer is added to generator.Spec
// without its entry in the fields table, or the entry points at another
// field of the Spec: the entry is what gives the answer a flag, a prompt and
// an answers-file key.
func TestFieldsCoverTheSpec(t *testing.T) {
	var tableKeys []string
	for _, f := range fields {
		if f.key != "" {
			tableKeys = append(tableKeys, f.key)
		}
	}
	assert.Equal(t, specKeys(reflect.TypeFor[generator.Spec](), ""), tableKeys,
		"one field per Spec answer, in answers-file order")

	// Each entry's value is the Spec field its key names: the answers file
	// perfgen writes reads back through the table to the same Spec.
	spec := generator.Spec{
		Name: "orders", Module: "github.com/acme/orders", Transport: generator.TransportGRPC,
		Store: generator.StorePostgres, Cache: false, Deploy: []generator.Deploy{generator.DeployDocker, generator.DeployK8s},
		SLO: generator.SLO{P95Millis: 25, RPS: 300, RSSMiB: 128, CPUPercent: 40, ErrorPercent: 0.5},
		Resources: []generator.Resource{{Name: "orders", Fields: []generator.ResourceField{
			{Name: "customer", Type: generator.FieldString}, {Name: "note", Type: generator.FieldString, Optional: true},
		}}},
	}
	data, err := generator.MarshalAnswers(spec)
	require.NoError(t, err)
	name := t.TempDir() + "/answers.yaml"
	require.NoError(t, os.WriteFile(name, data, 0o644))
	file, err := readAnswersFile(name)
	require.NoError(t, err)
	assert.Equal(t, spec, file.spec)
	for _, f := range fields {
		assert.Equal(t, f.key != "", file.given[f], "field %q", f.key)
	}
}

// recordingPrompter takes the default of every question and records it.
type recordingPrompter struct{ asked []string }

func (p *recordingPrompter) Input(message, _, def string, validate func(string) error) (string, error) {
	p.asked = append(p.asked, message)
	return def, validate(def)
}

func (p *recordingPrompter) Select(message, _ string, _ []Option, def string) (string, error) {
	p.asked = append(p.asked, message)
	return def, nil
}

func (p *recordingPrompter) Confirm(message, _ string, def bool) (bool, error) {
	p.asked = append(p.asked, message)
	if strings.HasPrefix(message, "Use the default") {
		return false, nil // ask each objective
	}
	return def, nil
}

func (p *recordingPrompter) MultiSelect(message, _ string, _ []Option, defs []string) ([]string, error) {
	p.asked = append(p.asked, message)
	return defs, nil
}

// TestEveryFieldReachesEverySurface checks that each entry of the fields
// table, and so an answer added as one more entry, has its flag in --help,
// its question, its place in the defaults notice and in the echoed command,
// and that an invalid value of its flag is reported together with the
// others.
func TestEveryFieldReachesEverySurface(t *testing.T) {
	t.Chdir(t.TempDir())

	help := newTestEnv(t)
	require.Equal(t, exitOK, help.run("new", "--help"))

	p := &recordingPrompter{}
	prompted := interactiveEnv(t, p)
	require.Equal(t, exitOK, prompted.run("new", "asked", "--no-tidy", "--dry-run"), "stderr: %s", prompted.stderr)

	quiet := newTestEnv(t)
	require.Equal(t, exitOK, quiet.run("new", "notice", "--no-tidy", "--dry-run"))

	for _, f := range fields {
		t.Run(f.key+f.flag, func(t *testing.T) {
			if f.flag != "" {
				assert.Contains(t, help.stdout.String(), "--"+f.flag+" ", "--help lists the flag")
				assert.Contains(t, prompted.stdout.String(), " "+strings.Join(f.echo(newAnswers("asked")), " "), "the echoed command gives it")
			}
			if f.prompt != "" {
				assert.Contains(t, p.asked, f.prompt, "the question is asked")
			}
			// An answer that means nothing for the defaults (resources,
			// which a new project has none of) is not named.
			if f.key != "" && f != nameField && f.relevant(newAnswers("notice")) {
				want := f.key + "="
				if f.group != nil {
					want = f.group.key + "=defaults"
				}
				assert.Contains(t, quiet.stderr.String(), want, "the defaults notice names it")
			}
			if len(f.choices) > 0 {
				got, _ := f.complete(nil, nil, "")
				assert.Len(t, got, len(f.choices)+len(f.wholeList), "completion offers every choice")
			}
		})
	}
}

// TestEveryWrongFlagIsReported gives a wrong value to every flag that can
// have one and expects one line for each.
func TestEveryWrongFlagIsReported(t *testing.T) {
	t.Chdir(t.TempDir())
	args := []string{"new", "demo", "--no-tidy"}
	var flags []string
	for _, f := range fields {
		if f.flag == "" || f == outputField {
			continue
		}
		args = append(args, "--"+f.flag+"=-bogus value-")
		flags = append(flags, f.flag)
	}
	env := newTestEnv(t)
	assert.Equal(t, exitUsage, env.run(args...))
	lines := strings.Split(strings.TrimSpace(env.stderr.String()), "\n")
	require.Len(t, lines, len(flags), "stderr: %s", env.stderr)
	for i, line := range lines {
		assert.True(t, strings.HasPrefix(line, "perfgen: "), line)
		if !strings.Contains(line, "module path") {
			assert.Contains(t, line, `for "--`+flags[i]+`" flag`)
		}
	}
	assert.NoDirExists(t, "demo")
	assert.False(t, slices.Contains(lines, ""))
}

// TestAnswersFileErrorsMatchTheGenerators keeps perfgen new's reading of an
// answers file (through the fields table) in step with the generator's, which
// perfgen sync uses: the same file is refused with the same message.
func TestAnswersFileErrorsMatchTheGenerators(t *testing.T) {
	for name, content := range map[string]string{
		"syntax":         "name: shop\ntransport: http: grpc\n",
		"unknown key":    "name: shop\ncolour: blue\n",
		"unknown slo":    "slo:\n  p99_ms: 5\n",
		"wrong type":     "name: shop\ncache: sometimes\n",
		"wrong int":      "slo:\n  rps: fast\n",
		"duplicate key":  "name: a\nname: b\n",
		"duplicate slo":  "slo:\n  rps: 1\n  rps: 2\n",
		"wrong list":     "deploy: docker\n",
		"not a mapping":  "- name\n",
		"slo not a map":  "slo: 5\n",
		"several wrongs": "cache: x\ncolour: blue\n",
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "answers.yaml")
			require.NoError(t, os.WriteFile(file, []byte(content), 0o644))
			_, ours := readAnswersFile(file)
			_, theirs := generator.ReadAnswers(file, strings.NewReader(content), generator.Spec{})
			require.Error(t, ours)
			require.Error(t, theirs)
			assert.Equal(t, theirs.Error(), ours.Error())
		})
	}
}
