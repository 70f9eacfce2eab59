package memstats

import (
	"bufio"
	"bytes"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// unlimited is where cgroup v1 reports "no limit" (the largest page-aligned
// int64); anything this large is treated as no limit.
const unlimited = 1 << 62

// CgroupMemoryLimit returns the memory limit, in bytes, that the kernel
// enforces on this process's cgroup: the smallest limit set on the cgroup or
// any ancestor, under cgroup v2 or v1. It reports false when there is none.
// fsys is the root file system (os.DirFS("/")); tests pass a fake one.
func CgroupMemoryLimit(fsys fs.FS) (int64, bool) {
	data, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	best := int64(0)
	found := false
	consider := func(file string) {
		b, err := fs.ReadFile(fsys, file)
		if err != nil {
			return
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= unlimited {
			return
		}
		if !found || n < best {
			best, found = n, true
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, file = "sys/fs/cgroup", "memory.max" // v2
		case hasController(parts[1], "memory"):
			dir, file = "sys/fs/cgroup/memory", "memory.limit_in_bytes" // v1
		default:
			continue
		}
		// Walk from the process's cgroup up to the root: a limit on any
		// ancestor applies too. Inside a container the host's path may not
		// exist under the container's mount; the walk then ends at the
		// mount's root, which is the container's own cgroup.
		for p := path.Clean("/" + parts[2]); ; p = path.Dir(p) {
			consider(path.Join(dir, p, file))
			if p == "/" {
				break
			}
		}
	}
	return best, found
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// MemoryLimit decides the Go runtime's soft memory limit: the cgroup limit
// times ratio, leaving the rest as headroom for memory the Go runtime does
// not count (cgo, the binary's mappings, kernel buffers charged to the
// cgroup). It returns 0 when GOMEMLIMIT is already set, since the user's
// choice wins, or when there is no cgroup limit. Set the result with
// debug.SetMemoryLimit.
func MemoryLimit(lookup func(string) (string, bool), fsys fs.FS, ratio float64) int64 {
	if v, ok := lookup("GOMEMLIMIT"); ok && v != "" {
		return 0
	}
	limit, ok := CgroupMemoryLimit(fsys)
	if !ok {
		return 0
	}
	return int64(float64(limit) * ratio)
}
