package projectsync

import (
	"fmt"
	"io"
	"strings"

	"github.com/perfgen/perfgen/internal/textdiff"
)

// printDiff writes the unified diff of every change.
func printDiff(w io.Writer, changes []Change) error {
	for _, c := range changes {
		if !c.writes() && c.Kind != Remove {
			continue
		}
		from, to := "a/"+c.Path, "b/"+c.Path
		if c.Old == nil {
			from = "/dev/null"
		}
		if c.Kind == Remove {
			to = "/dev/null"
		}
		if err := textdiff.Unified(w, from, to, c.Old, c.New); err != nil {
			return err
		}
	}
	return nil
}

// report writes one line per change and the notes.
func report(w io.Writer, res *Result, dryRun bool) {
	counts := map[Kind]int{}
	for _, c := range res.Changes {
		counts[c.Kind]++
		line := fmt.Sprintf("  %-8s  %s", c.Kind, c.Path)
		switch {
		case c.Kind == Conflict:
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
	for k := Add; k <= KeepDeleted; k++ {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], pastTense(k, dryRun)))
		}
	}
	switch {
	case len(parts) == 0:
		fmt.Fprintln(w, "in sync: nothing to change")
	case dryRun:
		fmt.Fprintf(w, "dry run, nothing changed; sync would: %s\n", strings.Join(parts, ", "))
	default:
		fmt.Fprintf(w, "synced: %s\n", strings.Join(parts, ", "))
	}
}

func pastTense(k Kind, dryRun bool) string {
	if dryRun {
		return [...]string{"add", "update", "merge", "conflict", "remove", "keep (edited)", "skip (deleted by you)"}[k]
	}
	return [...]string{"added", "updated", "merged", "with conflicts", "removed", "kept (edited)", "skipped (deleted by you)"}[k]
}
