package projectsync

import (
	"fmt"
	"io"
	"strings"

	"github.com/perfgen/perfgen/generator"
	"github.com/perfgen/perfgen/internal/textdiff"
)

// printDiff writes the unified diff of every change.
func printDiff(w io.Writer, changes []Change) error {
	for _, c := range changes {
		if !c.Op.Writes() && c.Op != generator.Delete {
			continue
		}
		from, to := "a/"+c.Path, "b/"+c.Path
		if c.Old == nil {
			from = "/dev/null"
		}
		if c.Op == generator.Delete {
			to = "/dev/null"
		}
		if err := textdiff.Unified(w, from, to, c.Old, c.New); err != nil {
			return err
		}
	}
	return nil
}

// words are how the report names each operation a sync does, in the order
// its summary lists them: in the line of each file, and in the summary of a
// dry run and of a sync.
var words = []struct {
	op               generator.Op
	line, would, did string
}{
	{generator.Create, "add", "add", "added"},
	{generator.Replace, "update", "update", "updated"},
	{generator.Merge, "merge", "merge", "merged"},
	{generator.Conflict, "conflict", "conflict", "with conflicts"},
	{generator.Delete, "remove", "remove", "removed"},
	{generator.KeepEdited, "keep", "keep (edited)", "kept (edited)"},
	{generator.KeepDeleted, "skip", "skip (deleted by you)", "skipped (deleted by you)"},
}

// lineWord is the word for op in the line of a file.
func lineWord(op generator.Op) string {
	for _, w := range words {
		if w.op == op {
			return w.line
		}
	}
	return op.String()
}

// report writes one line per change and the notes.
// did and would name the run in its summary ("synced", "sync would").
func report(w io.Writer, res *Result, dryRun bool, did, would string) {
	counts := map[generator.Op]int{}
	for _, c := range res.Changes {
		counts[c.Op]++
		line := fmt.Sprintf("  %-8s  %s", lineWord(c.Op), c.Path)
		switch {
		case c.Op == generator.Conflict:
			line += fmt.Sprintf(" (%d conflicts)", c.Conflicts)
		case c.Note != "":
			line += " (" + c.Note + ")"
		}
		fmt.Fprintln(w, line)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	var parts []string
	for _, word := range words {
		if n := counts[word.op]; n > 0 {
			verb := word.did
			if dryRun {
				verb = word.would
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, verb))
		}
	}
	switch {
	case len(parts) == 0:
		fmt.Fprintln(w, "in sync: nothing to change")
	case dryRun:
		fmt.Fprintf(w, "dry run, nothing changed; %s: %s\n", would, strings.Join(parts, ", "))
	default:
		fmt.Fprintf(w, "%s: %s\n", did, strings.Join(parts, ", "))
	}
}
