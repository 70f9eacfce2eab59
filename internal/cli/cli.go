// Package cli implements perfgen's command line.
package cli

import "io"

// Run runs perfgen with args and returns the process exit code.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int { return 0 }
