package generator

import "errors"

// A Valid is a Spec that Validate accepted, normalized. Only Spec.Valid
// makes one, so a command validates the answers once and what it passes a
// Valid to (RenderValid) does not validate them again.
type Valid struct {
	spec Spec
	ok   bool
}

// Valid validates s and returns it normalized.
func (s Spec) Valid() (Valid, error) {
	if err := s.Validate(); err != nil {
		return Valid{}, err
	}
	return Valid{spec: s.Normalize(), ok: true}, nil
}

// Spec returns the validated, normalized answers.
func (v Valid) Spec() Spec { return v.spec }

// errNotValidated is a Valid made other than by Spec.Valid (its zero value).
var errNotValidated = errors.New("answers were not validated; make a generator.Valid with Spec.Valid")
