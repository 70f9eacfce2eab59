// Package textdiff writes unified diffs, the form `perfgen templates diff`
// and `perfgen sync --dry-run` show changes in.
package textdiff

import (
	"bytes"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Unified writes a unified diff from a to b with 3 lines of context, naming
// them fromName and toName. It writes nothing when they are equal.
func Unified(w io.Writer, fromName, toName string, a, b []byte) error {
	if bytes.Equal(a, b) {
		return nil
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        splitLines(a),
		B:        splitLines(b),
		FromFile: fromName,
		ToFile:   toName,
		Context:  3,
	})
	if err != nil {
		return err
	}
	if text == "" {
		// Equal lines, different bytes: only a final newline differs.
		text = "--- " + fromName + "\n+++ " + toName + "\n@@ final newline differs @@\n"
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	_, err = io.WriteString(w, text)
	return err
}

// splitLines splits b after each newline. Unlike difflib.SplitLines it adds
// no empty last line, so an empty file has no lines.
func splitLines(b []byte) []string {
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n"
	return lines
}
