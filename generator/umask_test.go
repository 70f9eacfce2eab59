//go:build unix

package generator

import "syscall"

func setUmask(mask int) int { return syscall.Umask(mask) }
