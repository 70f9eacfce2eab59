package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// LockFile is the name of the lock file Render adds to every project. It
// records what perfgen generated, so `perfgen sync` can tell the files a user
// edited from the ones they did not, and can re-render the previous version.
const LockFile = ".perfgen.lock"

// lockHeader opens every lock file.
const lockHeader = "# perfgen lock: the perfgen and templates that rendered this project, its answers,\n# and the sha256 of every file perfgen generated last. `perfgen sync` reads it to tell\n# edited files from unedited ones and to render the base of a merge, and rewrites it;\n# do not edit it.\n"

// A Lock records one rendering of a project.
type Lock struct {
	// DataVersion is the template-data version (DataVersion) it was
	// rendered with.
	DataVersion int `yaml:"data_version"`
	// Perfgen is the version of perfgen that rendered it (Source.Perfgen):
	// sync renders the base of a merge with that version's templates.
	// Locks written before perfgen recorded it have none.
	Perfgen string `yaml:"perfgen,omitempty"`
	// Templates is OriginBuiltin or OriginCustom.
	Templates string `yaml:"templates"`
	// TemplatesSum is the checksum of the custom template directory it was
	// rendered with (Source.TemplatesSum).
	TemplatesSum string `yaml:"templates_sum,omitempty"`
	// TemplatesRev is the git commit of that directory (Source.TemplatesRev),
	// from which sync recovers the directory after it changed.
	TemplatesRev string `yaml:"templates_rev,omitempty"`
	// Answers are the answers it was rendered from. They are kept here, not
	// only in .perfgen.yaml, because the user edits .perfgen.yaml to change
	// the project, and sync needs the previous answers to recover the base
	// of a 3-way merge.
	Answers Spec `yaml:"answers"`
	// Files lists every generated file but the lock itself, sorted by path.
	Files []LockedFile `yaml:"files"`
}

// A LockedFile is one generated file and the hash of its content.
type LockedFile struct {
	Path   string `yaml:"path"`
	SHA256 string `yaml:"sha256"`
}

// NewLock returns the lock of files rendered from spec.
func NewLock(spec Spec, origin string, files Files) *Lock {
	l := &Lock{DataVersion: DataVersion, Templates: origin, Answers: spec.Normalize()}
	for _, f := range files {
		if f.Path == LockFile {
			continue
		}
		l.Files = append(l.Files, LockedFile{Path: f.Path, SHA256: Hash(f.Content)})
	}
	return l
}

// Hash returns the hex sha256 of content, as a lock file records it.
func Hash(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// Marshal encodes l. The output depends only on l.
func (l *Lock) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(lockHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(l); err != nil {
		return nil, fmt.Errorf("encode lock: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode lock: %w", err)
	}
	return buf.Bytes(), nil
}

// Lookup returns the recorded hash of the file at p.
func (l *Lock) Lookup(p string) (string, bool) {
	for _, f := range l.Files {
		if f.Path == p {
			return f.SHA256, true
		}
	}
	return "", false
}

// ReadLock decodes a lock file. name is used in errors.
func ReadLock(name string, r io.Reader) (*Lock, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	// A lock written before the upstream answer existed rendered the
	// upstream example: decoding over the default keeps it so.
	l := Lock{Answers: Spec{Upstream: DefaultSpec("").Upstream}}
	if err := dec.Decode(&l); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("lock file %s is empty; restore it from version control, or delete it and let sync treat every differing file as edited", name)
		}
		return nil, fmt.Errorf("lock file %s: %s; restore it from version control, or delete it and let sync treat every differing file as edited", name, yamlMessage(err))
	}
	return &l, nil
}
