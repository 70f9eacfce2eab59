package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// tutorialPath is the resources tutorial, whose commands the resource test
// runs as they are written.
var tutorialPath = filepath.Join("..", "docs", "resources.md")

// codeBlock is one fenced block of a Markdown page.
type codeBlock struct {
	// Lang is the fence's info string: sh, go, proto, text.
	Lang string
	// Text is the block's content, each line ending in a newline.
	Text string
	// Line is the line of the opening fence, for messages.
	Line int
}

// Commands returns the block's command lines: every line but blank ones and
// comments.
func (b codeBlock) Commands() []string {
	var cmds []string
	for line := range strings.Lines(b.Text) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			cmds = append(cmds, line)
		}
	}
	return cmds
}

// readCodeBlocks returns the fenced code blocks of the Markdown file at
// path, in order.
func readCodeBlocks(t *testing.T, path string) []codeBlock {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var (
		blocks []codeBlock
		cur    *codeBlock
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &codeBlock{Lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), Line: n}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.Text += line + "\n"
		}
	}
	require.NoError(t, sc.Err())
	require.Nil(t, cur, "%s: the block opened at line %d is not closed", path, n)
	return blocks
}

// blocksOf returns the blocks of blocks in language lang, in order.
func blocksOf(blocks []codeBlock, lang string) []codeBlock {
	var of []codeBlock
	for _, b := range blocks {
		if b.Lang == lang {
			of = append(of, b)
		}
	}
	return of
}
