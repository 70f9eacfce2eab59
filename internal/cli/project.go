package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/perfgen/perfgen/generator"
)

// findProjectRoot returns the root of the project that dir is in: the
// nearest of dir and the directories above it that holds the project's
// answers file (.perfgen.yaml), as the go command finds go.mod and git finds
// .git. For a relative dir the root is relative too, to the current
// directory as dir is ("../.." from a subdirectory), so messages and paths
// stay short. ok is false when no directory up to the file system's root
// has one.
func findProjectRoot(dir string) (root string, ok bool, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	for cur, up := abs, ""; ; up = filepath.Join(up, "..") {
		_, err := os.Stat(filepath.Join(cur, generator.AnswersFile))
		switch {
		case err == nil:
			if filepath.IsAbs(dir) {
				return cur, true, nil
			}
			return filepath.Join(dir, up), true, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", false, err
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return "", false, nil
		}
		cur = parent
	}
}
