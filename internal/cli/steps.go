package cli

import (
	"context"
	"fmt"

	"github.com/kballard/go-shellquote"
)

// tidy is the side effect that runs go mod tidy in the project at root, so
// that it builds: perfgen new runs it on a new project and perfgen sync
// after changing go.mod. skip, when not "", is why it is skipped (such as
// "--no-tidy"), and then it says what to run instead. done says what the
// command did to the project ("written", "synced") for the error of a
// failed tidy.
func tidy(ctx context.Context, env *Env, skip, root, done string) error {
	if skip != "" {
		fmt.Fprintf(env.Stdout, "skipped go mod tidy (%s); run it before building: cd %s && go mod tidy\n", skip, shellquote.Join(root))
		return nil
	}
	fmt.Fprintf(env.Stdout, "running go mod tidy in %s\n", root)
	if output, err := env.Tidy(ctx, root); err != nil {
		if len(output) > 0 {
			env.Stderr.Write(output)
		}
		return fmt.Errorf("the project is %s, but go mod tidy failed: %w; once the cause is fixed, run: cd %s && go mod tidy",
			done, err, shellquote.Join(root))
	}
	return nil
}

// skipReason returns flag when the flag that skips a step was given, else "".
func skipReason(given bool, flag string) string {
	if given {
		return flag
	}
	return ""
}
