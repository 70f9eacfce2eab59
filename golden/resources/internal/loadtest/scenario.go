package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Op is one kind of request the load generator sends.
type Op string

// The operations a scenario can mix.
const (
	// OpGet reads one of the items created before the run.
	OpGet Op = "get"
	// OpCreate creates a new item.
	OpCreate Op = "create"
)

// Scenario is the request mix of a run, read from bench/scenario.yaml.
type Scenario struct {
	// Items is how many items are created before the run; GETs cycle
	// through them, so after the first pass every GET reads a warm item.
	Items int `yaml:"items"`
	// Mix lists the operations and their weights.
	Mix []Weighted `yaml:"mix"`

	seq []Op
}

// Weighted is one operation of a mix and its share.
type Weighted struct {
	Op     Op  `yaml:"op"`
	Weight int `yaml:"weight"`
}

// DefaultScenario is the mix used without a scenario file: 90 % GETs of
// pre-created items, 10 % creates.
func DefaultScenario() Scenario {
	s := Scenario{Items: 100, Mix: []Weighted{
		{OpGet, 90},
		{OpCreate, 10},
	}}
	s.seq = interleave(s.Mix)
	return s
}

// ReadScenario reads a scenario file.
func ReadScenario(path string) (Scenario, error) {
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return Scenario{}, fmt.Errorf("read scenario: %w", err)
	}
	return ParseScenario(path, bytes.NewReader(b))
}

// ParseScenario parses a scenario from r; name is used in errors.
func ParseScenario(name string, r io.Reader) (Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Scenario{}, fmt.Errorf("scenario %s: %w", name, err)
	}
	if err := s.compile(); err != nil {
		return Scenario{}, fmt.Errorf("scenario %s: %w", name, err)
	}
	return s, nil
}

// compile validates the mix and lays it out as a fixed sequence.
func (s *Scenario) compile() error {
	var errs []error
	if s.Items < 1 {
		errs = append(errs, fmt.Errorf("items is %d; want at least 1 so GETs have something to read", s.Items))
	}
	if len(s.Mix) == 0 {
		errs = append(errs, errors.New("mix is empty; list at least one op (get or create) with a weight"))
	}
	for _, w := range s.Mix {
		switch {
		case w.Op != OpGet && w.Op != OpCreate:
			errs = append(errs, fmt.Errorf("op %q is unknown; use get or create", w.Op))
		case w.Weight < 1:
			errs = append(errs, fmt.Errorf("op %s has weight %d; want a positive integer", w.Op, w.Weight))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.seq = interleave(s.Mix)
	return nil
}

// interleave spreads the ops over one period of the mix with smooth
// weighted round-robin, so a 90/10 mix sends a create every tenth request
// instead of ten in a row. The order is fixed: two runs send the same
// sequence, and any window of the run has the configured mix.
func interleave(mix []Weighted) []Op {
	total := 0
	for _, w := range mix {
		total += w.Weight
	}
	current := make([]int, len(mix))
	seq := make([]Op, 0, total)
	for range total {
		best := 0
		for i, w := range mix {
			current[i] += w.Weight
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		seq = append(seq, mix[best].Op)
	}
	return seq
}

// Op returns the operation of the n-th request.
func (s Scenario) Op(n int64) Op { return s.seq[n%int64(len(s.seq))] }
