package generator

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
)

// An Overlay is a file system made of layers: a file in a later layer
// replaces the file at the same path in earlier ones, and directories merge.
// perfgen lays a custom template directory over the built-ins this way.
// Parse parses an Overlay layer by layer, so a later layer's {{define}} also
// overrides a {{block}} of an earlier one.
type Overlay struct {
	layers []fs.FS
}

// NewOverlay returns the overlay of layers, the first at the bottom.
func NewOverlay(layers ...fs.FS) *Overlay { return &Overlay{layers: layers} }

// Layers returns the layers, the first at the bottom.
func (o *Overlay) Layers() []fs.FS { return slices.Clone(o.layers) }

// Open opens name in the topmost layer that has it.
func (o *Overlay) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	for i := len(o.layers) - 1; i >= 0; i-- {
		f, err := o.layers[i].Open(name)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// ReadDir merges the directory name of every layer, sorted by name. An entry
// takes its kind from the topmost layer that has it.
func (o *Overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	byName := map[string]fs.DirEntry{}
	found := false
	for _, l := range o.layers {
		entries, err := fs.ReadDir(l, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
		for _, e := range entries {
			byName[e.Name()] = e
		}
	}
	if !found {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := make([]fs.DirEntry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}
