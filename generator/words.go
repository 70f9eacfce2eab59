package generator

import "fmt"

// Count returns n and noun, plural unless n is 1: "1 file", "2 files". The
// engine's and the command line's messages count files and problems with it.
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
