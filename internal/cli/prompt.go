package cli

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Prompter asks the user one question at a time. Each method shows message
// with a default and returns the answer; help is shown on request. The
// survey adapter implements it on a terminal, tests with a scripted fake.
// An answer the user abandons (Ctrl-C) is reported as errInterrupted.
type Prompter interface {
	// Input asks for free text. validate rejects an answer with the reason,
	// and the prompter asks again.
	Input(message, help, def string, validate func(string) error) (string, error)
	// Select asks for the value of one of options.
	Select(message, help string, options []Option, def string) (string, error)
	// Confirm asks a yes/no question.
	Confirm(message, help string, def bool) (bool, error)
	// MultiSelect asks for the values of any subset of options, possibly
	// empty.
	MultiSelect(message, help string, options []Option, defs []string) ([]string, error)
}

// An Option is one choice of Select or MultiSelect.
type Option struct {
	Value       string
	Description string
}

// options lists the values of an enum with their descriptions.
func options[T ~string](values []T, descriptions map[T]string) []Option {
	out := make([]Option, len(values))
	for i, v := range values {
		out[i] = Option{Value: string(v), Description: descriptions[v]}
	}
	return out
}

// ask fills every answer missing from a with p, in the order of the fields
// table. Each answer goes through its field's validator, the one its flag
// uses, whatever the prompter did; a rejected answer is a usage error, a
// failing prompter is returned as it is.
//
// force is --force: without it the output directory prompt rejects a
// directory that is not empty.
func ask(p Prompter, a *answers, force bool) error {
	for _, f := range fields {
		if f.prompt == "" || a.given[f] || !f.relevant(a) {
			continue
		}
		if g := f.group; g != nil && !groupGiven(a, g) {
			keep, err := p.Confirm(g.confirm(a), g.help, true)
			if err != nil {
				return err
			}
			if keep {
				for _, gf := range fields {
					if gf.group == g {
						a.given[gf] = true
					}
				}
				continue
			}
		}
		v, err := askField(p, f, a, force)
		if err != nil {
			return err
		}
		if err := f.validate(a, v); err != nil {
			return usage(err)
		}
		if f.askCheck != nil {
			if err := f.askCheck(v, force); err != nil {
				return usage(err)
			}
		}
		_ = f.set(a, v) // validate accepted v
		a.given[f] = true
	}
	return nil
}

// groupGiven reports whether any field of g was given.
func groupGiven(a *answers, g *fieldGroup) bool {
	return slices.ContainsFunc(fields, func(f *field) bool { return f.group == g && a.given[f] })
}

// askField asks f's question and returns the answer as its flag would
// take it.
func askField(p Prompter, f *field, a *answers, force bool) (string, error) {
	help := strings.ReplaceAll(f.help, "NAME", a.spec.Name)
	switch f.kind {
	case askSelect:
		return p.Select(f.prompt, help, f.choices, f.get(a))
	case askConfirm:
		v, err := p.Confirm(f.prompt, help, f.get(a) == "true")
		return strconv.FormatBool(v), err
	case askMultiSelect:
		v, err := p.MultiSelect(f.prompt, help, f.choices, f.selected(a))
		return strings.Join(v, ","), err
	default:
		return p.Input(f.prompt, help, f.get(a), func(s string) error {
			if err := f.validate(a, s); err != nil {
				return err
			}
			if f.askCheck != nil {
				return f.askCheck(s, force)
			}
			return nil
		})
	}
}

// selected returns the values a list field holds, for a MultiSelect's
// defaults.
func (f *field) selected(a *answers) []string {
	list := reflect.ValueOf(f.value(&a.spec)).Elem()
	out := make([]string, list.Len())
	for i := range out {
		out[i] = list.Index(i).String()
	}
	return out
}

// checkOutput rejects an empty output directory; where it points is checked
// when the write is planned.
func checkOutput(s string) error {
	if s == "" {
		return fmt.Errorf("output directory is empty; give a path such as ./orders")
	}
	return nil
}

// enumStrings converts typed enum values to their names.
func enumStrings[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
