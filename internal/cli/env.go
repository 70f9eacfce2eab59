package cli

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// TidyFunc runs `go mod tidy` in dir and returns its combined output.
type TidyFunc func(ctx context.Context, dir string) ([]byte, error)

// goModTidy runs the go command found on PATH.
func goModTidy(ctx context.Context, dir string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// notifySignals returns a context that SIGINT and SIGTERM cancel.
func notifySignals(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// isTerminal reports whether f is an *os.File open on a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}
