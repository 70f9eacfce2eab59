package cli

import (
	"errors"
	"io"
	"os"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/core"
	"github.com/AlecAivazis/survey/v2/terminal"
)

// surveyPrompter implements Prompter with survey on the process's terminal.
// It is the only code in perfgen that knows survey.
type surveyPrompter struct {
	in  *os.File
	out *os.File
	err io.Writer
}

// newSurveyPrompter returns a Prompter on stdin and stdout. It is only used
// when both are terminals, so both are *os.File; a nil Prompter stands in
// otherwise and is never called. A non-empty NO_COLOR (no-color.org) turns
// the prompts' colours off.
func newSurveyPrompter(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) Prompter {
	in, ok1 := stdin.(*os.File)
	out, ok2 := stdout.(*os.File)
	if !ok1 || !ok2 {
		return nil
	}
	if getenv("NO_COLOR") != "" {
		// survey only offers this process-wide switch; perfgen runs one
		// command per process.
		core.DisableColor = true
	}
	return &surveyPrompter{in: in, out: out, err: stderr}
}

func (p *surveyPrompter) ask(q survey.Prompt, answer any, opts ...survey.AskOpt) error {
	opts = append(opts, survey.WithStdio(p.in, p.out, p.err))
	err := survey.AskOne(q, answer, opts...)
	if errors.Is(err, terminal.InterruptErr) {
		return errInterrupted
	}
	return err
}

// Input implements Prompter.
func (p *surveyPrompter) Input(message, help, def string, validate func(string) error) (string, error) {
	var answer string
	check := func(v any) error {
		s, _ := v.(string)
		return validate(s)
	}
	err := p.ask(&survey.Input{Message: message, Help: help, Default: def}, &answer, survey.WithValidator(check))
	return answer, err
}

// Select implements Prompter.
func (p *surveyPrompter) Select(message, help string, options []Option, def string) (string, error) {
	var answer string
	values, describe := splitOptions(options)
	err := p.ask(&survey.Select{Message: message, Help: help, Options: values, Default: def, Description: describe}, &answer)
	return answer, err
}

// Confirm implements Prompter.
func (p *surveyPrompter) Confirm(message, help string, def bool) (bool, error) {
	var answer bool
	err := p.ask(&survey.Confirm{Message: message, Help: help, Default: def}, &answer)
	return answer, err
}

// MultiSelect implements Prompter.
func (p *surveyPrompter) MultiSelect(message, help string, options []Option, defs []string) ([]string, error) {
	answer := []string{}
	values, describe := splitOptions(options)
	err := p.ask(&survey.MultiSelect{Message: message, Help: help, Options: values, Default: defs, Description: describe}, &answer)
	return answer, err
}

// splitOptions returns the values of options and survey's description
// callback for them.
func splitOptions(options []Option) ([]string, func(string, int) string) {
	values := make([]string, len(options))
	for i, o := range options {
		values[i] = o.Value
	}
	return values, func(_ string, i int) string { return options[i].Description }
}
