package generator

import (
	"fmt"
	"strings"
)

// DataChanges says, for every DataVersion, what changed in Data from the
// version before it. A custom template directory written for an older
// version is refused with the changes since, so its owners know what to fix.
// Add a line here whenever DataVersion is raised, naming every field added,
// renamed or removed; TestDataChangesNameEveryField holds it to that.
var DataChanges = map[int]string{
	1: "first version: Name, Module, GoVersion, EnvPrefix, HTTP, GRPC, Postgres, Memory, Cache, Docker, Compose, K8s, Sysctl, Systemd, SLO, MaxConcurrency, Ports, Versions, Proto, ProtoRoot, Deployment, Answers, Spec",
	2: "added Toolchain (the go.mod toolchain line), Upstream, CI, PerfgenModule, PerfgenVersion and PerfgenCommand (the pinned perfgen tool), Versions.GoogleAPIs, Versions.Otter, Deployment.EphemeralStorageMiB, Deployment.TmpMiB, Monitoring (the alert rules' and dashboard's settings), and the answers Spec.Upstream, Spec.CI and Spec.PerfgenVersion",
	3: "added Resources and Resource (the resources added with perfgen add resource, and the one a per-resource manifest entry renders), and the answer Spec.Resources; Versions gained OTel, OTelGRPC and OTLPProto",
}

// CheckDataVersion reports whether templates written for template-data
// version v can render with this perfgen, and if not, what changed.
func CheckDataVersion(v int) error { return checkDataVersion(v, DataVersion, DataChanges) }

func checkDataVersion(v, current int, changelog map[int]string) error {
	if v == current {
		return nil
	}
	if v > current {
		return fmt.Errorf("templates declare template-data version %d, but this perfgen has version %d; upgrade perfgen", v, current)
	}
	var changes []string
	for i := v + 1; i <= current; i++ {
		if c, ok := changelog[i]; ok {
			changes = append(changes, fmt.Sprintf("version %d: %s", i, c))
		}
	}
	return fmt.Errorf("templates declare template-data version %d, but this perfgen has version %d (%s); update the templates, then set the version to %d",
		v, current, strings.Join(changes, "; "), current)
}
