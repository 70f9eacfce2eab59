// Command binsize says where a Go binary's bytes go: the size of each ELF
// section, then the code and data that each module (and each top-level
// standard-library tree) contributes, summed from the symbol table.
//
//	go run ./internal/perf/binsize [-n 40] BINARY
//
// Give it an unstripped build of the source you ship stripped: -s -w removes
// the symbol table and DWARF, not code or data, so the sections that are
// loaded are the same. Symbols do not cover everything: the pclntab (0.8 B
// per byte of the code it describes) and the funcdata in go:func.* belong to
// the functions, not to named symbols, so a module costs the file two to
// three times its code; docs/performance.md "Binary size and idle memory"
// has the measured ratios.
package main

import (
	"cmp"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "binsize: %v\n", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("binsize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	top := fs.Int("n", 40, "owners to list, largest code first (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: binsize [-n N] BINARY (an unstripped Go ELF binary)")
	}
	r, err := measure(fs.Arg(0))
	if err != nil {
		return err
	}
	return r.write(stdout, *top)
}

// section is one ELF section and whether the loader maps it.
type section struct {
	name   string
	size   uint64
	loaded bool // SHF_ALLOC: part of the process image
	nobits bool // .bss and .noptrbss: memory, not file bytes
}

// share is what one owner (a module or a standard-library tree) puts into
// the binary: code in .text, data in the read-only and writable sections.
type share struct {
	owner      string
	code, data uint64
	symbols    int
}

// report is a binary's sections and its symbols summed by owner.
type report struct {
	sections   []section
	shares     []share // largest code first
	unassigned uint64  // go:func.* funcdata: the functions', no owner
}

// measure reads the sections, the module list (from the build info) and the
// symbol table of the binary at path.
func measure(path string) (*report, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	modules := []string{info.Main.Path}
	for _, d := range info.Deps {
		modules = append(modules, d.Path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("%s has no symbol table (built with -ldflags=-s?): %w", path, err)
	}
	r := &report{}
	for _, s := range f.Sections {
		if s.Name == "" {
			continue
		}
		r.sections = append(r.sections, section{
			name: s.Name, size: s.Size,
			loaded: s.Flags&elf.SHF_ALLOC != 0, nobits: s.Type == elf.SHT_NOBITS,
		})
	}
	byOwner := map[string]*share{}
	for _, s := range syms {
		if s.Size == 0 || int(s.Section) >= len(f.Sections) || s.Section == elf.SHN_UNDEF {
			continue
		}
		sec := f.Sections[s.Section]
		if sec.Type == elf.SHT_NOBITS || sec.Flags&elf.SHF_ALLOC == 0 {
			continue // no file bytes, or not loaded
		}
		if strings.HasPrefix(s.Name, "go:func.") {
			r.unassigned += s.Size
			continue
		}
		o := owner(s.Name, modules)
		sh := byOwner[o]
		if sh == nil {
			sh = &share{owner: o}
			byOwner[o] = sh
		}
		if sec.Flags&elf.SHF_EXECINSTR != 0 {
			sh.code += s.Size
		} else {
			sh.data += s.Size
		}
		sh.symbols++
	}
	for _, sh := range byOwner {
		r.shares = append(r.shares, *sh)
	}
	slices.SortFunc(r.shares, func(a, b share) int {
		return cmp.Or(cmp.Compare(b.code, a.code), cmp.Compare(b.data, a.data), strings.Compare(a.owner, b.owner))
	})
	return r, nil
}

// symbolPrefixes wrap a package path in the linker's names for types,
// their equality and hash functions, and itabs.
var symbolPrefixes = []string{"type:.eq.", "type:.hash.", "type:", "go:itab.", "go:struct { "}

// owner names the module that defines symbol, by the longest module path
// that prefixes its package; standard-library symbols belong to "std" and
// their top-level tree ("std crypto", "std net", "std runtime"). Generic
// code belongs to the package that declares the generic function, whatever
// its type arguments.
func owner(symbol string, modules []string) string {
	pkg := packageOf(symbol)
	best := ""
	for _, m := range modules {
		if (pkg == m || strings.HasPrefix(pkg, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	if best != "" {
		return best
	}
	first, _, _ := strings.Cut(pkg, "/")
	switch {
	case pkg == "main":
		return "main"
	case pkg == "":
		return "composite types"
	case !strings.Contains(symbol, ".") || strings.HasPrefix(symbol, "$"):
		return "assembly and constants" // _rt0_amd64, $f64.…, K256
	case strings.Contains(first, "."):
		return "other " + pkg // a module the build info does not list
	}
	return "std " + first
}

// packageOf returns the import path in a linker symbol name, such as
// "net/http" in "net/http.(*conn).serve" or in "type:*net/http.Server".
func packageOf(symbol string) string {
	s := symbol
	for _, p := range symbolPrefixes {
		if rest, ok := strings.CutPrefix(s, p); ok {
			s = rest
			break
		}
	}
	// Pointer, slice, array and map types: type:*T, type:[]T, type:[4]T,
	// type:map[K]V name the package of their element, well enough.
	s = strings.TrimLeft(s, "*[]0123456789")
	if strings.HasPrefix(s, "map[") || strings.HasPrefix(s, "struct {") || strings.HasPrefix(s, "go:") ||
		strings.HasPrefix(s, "noalg.") || strings.HasPrefix(s, "func(") || strings.HasPrefix(s, "interface {") {
		return "" // a composite type the compiler spelled out: no one package
	}
	// The path ends at the first dot after its last slash; the slash must
	// come before any type arguments, parameter lists or, in an itab's
	// name, the interface after the comma.
	end := len(s)
	if i := strings.IndexAny(s, "([ ,"); i >= 0 {
		end = i
	}
	slash := strings.LastIndex(s[:end], "/")
	dot := strings.Index(s[slash+1:], ".")
	if dot < 0 {
		return s[:end]
	}
	return s[:slash+1+dot]
}

// write prints the sections and the largest owners as tab-aligned tables.
func (r *report) write(w io.Writer, top int) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "section\tbytes\tin the file\tloaded\t")
	var file uint64
	for _, s := range r.sections {
		if !s.loaded {
			continue
		}
		inFile := "yes"
		if s.nobits {
			inFile = "no"
		} else {
			file += s.size
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\tyes\t\n", s.name, s.size, inFile)
	}
	fmt.Fprintf(tw, "loaded file bytes\t%d\t\t\t\n\n", file)
	fmt.Fprintln(tw, "owner\tcode\tdata\tsymbols\t")
	var code, data uint64
	for i, s := range r.shares {
		code += s.code
		data += s.data
		if top > 0 && i >= top {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", s.owner, s.code, s.data, s.symbols)
	}
	if top > 0 && len(r.shares) > top {
		fmt.Fprintf(tw, "(%d more)\t\t\t\t\n", len(r.shares)-top)
	}
	fmt.Fprintf(tw, "all symbols\t%d\t%d\t\t\n", code, data)
	fmt.Fprintf(tw, "go:func.* funcdata\t\t%d\t\t\n", r.unassigned)
	return tw.Flush()
}
