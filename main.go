// Command perfgen generates performance-tuned Go microservices.
package main

import (
	"os"

	"github.com/perfgen/perfgen/internal/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
