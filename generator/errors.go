package generator

import (
	"fmt"
	"strconv"
	"strings"
)

// A TemplateError is a template that does not parse, fails to execute, or
// renders Go that does not parse. Callers that show it elsewhere (a custom
// template directory names the file on disk) read it with errors.As instead
// of taking its message apart.
type TemplateError struct {
	// Template is the slash path of the template file the error is in, as
	// the template set names it ("service/README.md.tmpl"). For an error
	// inside a {{define}} or {{block}} it is the file that defines it.
	Template string
	// Line is the line in Template, or 0 when the error has no line (the
	// rendered output does not parse, the output path is refused).
	Line int
	// Err is what is wrong, without the location.
	Err error
}

// Error formats e as file:line: message, the form editors jump to.
func (e *TemplateError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Template, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Template, e.Err)
}

// Unwrap returns e.Err.
func (e *TemplateError) Unwrap() error { return e.Err }

// A SyntaxError is rendered Go source that does not parse. Its message ends
// with the rendered source, numbered, so the line it names can be found.
type SyntaxError struct {
	// Line and Column locate the error in the rendered source, not in the
	// template.
	Line, Column int
	// Msg is the parser's message.
	Msg string
	// Source is the rendered source.
	Source []byte
}

// Summary is the first line of the message, without the source.
func (e *SyntaxError) Summary() string {
	if e.Line == 0 {
		return "rendered Go does not parse: " + e.Msg
	}
	return fmt.Sprintf("rendered Go does not parse: line %d:%d: %s", e.Line, e.Column, e.Msg)
}

// Error is the summary followed by the rendered source, one numbered line
// each.
func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString(e.Summary())
	for i, line := range strings.Split(string(e.Source), "\n") {
		fmt.Fprintf(&b, "\n%5d | %s", i+1, line)
	}
	return b.String()
}

// stdlibError is a text/template error with the location its message starts
// with cut off; Unwrap keeps the original (a template.ExecError, say).
type stdlibError struct {
	msg string
	err error
}

func (e *stdlibError) Error() string { return e.msg }
func (e *stdlibError) Unwrap() error { return e.err }

// templateError turns an error of text/template, from parsing or executing
// the template called name, into a *TemplateError. text/template reports the
// position only in its message ("template: a/b.tmpl:12:5: executing ..."), so
// this is the one place that reads it; an error without a position is
// attributed to name.
func templateError(name string, err error) *TemplateError {
	rest, ok := strings.CutPrefix(err.Error(), "template: ")
	if !ok {
		return &TemplateError{Template: name, Err: err}
	}
	file, after, ok := strings.Cut(rest, ":")
	if !ok {
		return &TemplateError{Template: name, Err: &stdlibError{rest, err}}
	}
	lineText, msg, ok := strings.Cut(after, ":")
	line, convErr := strconv.Atoi(lineText)
	if !ok || convErr != nil || line <= 0 {
		return &TemplateError{Template: name, Err: &stdlibError{rest, err}}
	}
	// Execution errors add a column, which editors do not need for a
	// template.
	if col, tail, ok := strings.Cut(msg, ":"); ok {
		if _, err := strconv.Atoi(col); err == nil {
			msg = tail
		}
	}
	return &TemplateError{Template: file, Line: line, Err: &stdlibError{strings.TrimPrefix(msg, " "), err}}
}
