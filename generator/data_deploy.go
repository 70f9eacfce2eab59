package generator

import (
	"strings"
)

// Deployment holds what the deployment outputs (Dockerfile, compose,
// Kubernetes, sysctl, systemd) compute from the answers. Every number a
// manifest states comes from here, so the outputs agree with each other.
type Deployment struct {
	// BuildImage is the Go toolchain image of the Dockerfile's build stage,
	// pinned to the project's Go major.minor version.
	BuildImage string
	// RuntimeImage is the final stage: a static, shell-less image whose
	// "nonroot" user is RunAsID.
	RuntimeImage string
	// PostgresImage and PrometheusImage are the compose file's companions.
	PostgresImage, PrometheusImage string
	// RunAsID is the numeric user and group the service runs as everywhere.
	RunAsID int

	// Ports lists every port the service listens on, public ones first and
	// admin last.
	Ports []NamedPort

	// Replicas is the autoscaler's minimum (the Deployment sets no count of
	// its own, so applying it never resets a scaled-out service);
	// MaxReplicas is the autoscaler's maximum.
	Replicas, MaxReplicas int
	// CPUMillis is each replica's CPU request and limit in millicores: the
	// cores one replica needs to carry the SLO rate alone, at RPSPerCore
	// requests per second per core.
	CPUMillis, RPSPerCore int
	// MemoryMiB is each replica's memory request and limit, the SLO's RSS
	// bound.
	MemoryMiB int
	// EphemeralStorageMiB is each replica's ephemeral-storage request and
	// limit: its logs kept on the node and the /tmp emptyDir, TmpMiB.
	EphemeralStorageMiB, TmpMiB int
	// CPUTargetPercent is the autoscaler's CPU utilization target, the SLO's
	// CPU bound.
	CPUTargetPercent int

	// ShutdownDelaySeconds is how long a stopping replica reports not-ready
	// before it drains; ShutdownTimeoutSeconds is how long draining may take
	// (the service's default). StopGraceSeconds, the time an orchestrator
	// waits before killing the process, covers both with a margin.
	ShutdownDelaySeconds, ShutdownTimeoutSeconds, StopGraceSeconds int

	// NoFile is the open-file limit for the service's process.
	NoFile int
	// Sysctls are the host kernel settings of the sysctl drop-in.
	Sysctls []Sysctl
	// PodSysctls are the Sysctls the Pod Security Standards "restricted"
	// profile allows in a pod; the others need the node drop-in.
	PodSysctls []Sysctl
}

// NamedPort is one listening port of the service.
type NamedPort struct {
	// Name is the port's name in Kubernetes objects: http, grpc or admin.
	Name string
	// Port is the port number.
	Port int
	// Public reports whether clients use the port; the admin port is only
	// for probes, metrics and profiling.
	Public bool
}

// Sysctl is one kernel setting with the reason it is set.
type Sysctl struct {
	// Key is the sysctl name, e.g. net.core.somaxconn.
	Key string
	// Value is the wanted value, fields separated by one space.
	Value string
	// Why is a one-line reason, written beside the setting.
	Why string
	// Group is the section the setting is listed under: network, memory.
	Group string
}

// runAsID is the uid and gid of the distroless "nonroot" user.
const runAsID = 65532

// rpsPerCore is the request rate one core of a generated service carries
// comfortably (small JSON items, in-memory store), used to size a replica
// from the SLO rate.
const rpsPerCore = 5000

// The service's shutdown timing: the delay is what this output configures,
// the timeout is the service's own default (config.Default), and the margin
// covers process exit and log flushing.
const (
	shutdownDelaySeconds   = 5
	shutdownTimeoutSeconds = 15
	stopMarginSeconds      = 10
)

// hostSysctls are the seed's kernel settings, plus the listen-backlog and
// port-range settings a busy Go server needs. Values are written with single
// spaces; the kernel prints some with tabs.
var hostSysctls = []Sysctl{
	{"net.core.somaxconn", "8192", "listen backlog; Go passes this value to listen(2), so connection bursts queue instead of being refused", "network"},
	{"net.ipv4.tcp_max_syn_backlog", "8192", "half-open connections kept during a burst of new clients", "network"},
	{"net.core.netdev_max_backlog", "5000", "packets queued per CPU when the NIC delivers faster than the kernel processes", "network"},
	{"net.core.rmem_max", "134217728", "lets a socket's receive buffer grow to 128 MiB for high bandwidth-delay paths", "network"},
	{"net.core.wmem_max", "134217728", "lets a socket's send buffer grow to 128 MiB for high bandwidth-delay paths", "network"},
	{"net.ipv4.tcp_rmem", "4096 131072 134217728", "TCP receive buffer min, default and autotuning max", "network"},
	{"net.ipv4.tcp_wmem", "4096 65536 134217728", "TCP send buffer min, default and autotuning max", "network"},
	{"net.ipv4.tcp_slow_start_after_idle", "0", "keep-alive connections keep their congestion window between bursts", "network"},
	{"net.ipv4.ip_local_port_range", "10240 65535", "twice the default source ports for outbound connections, all above the service's own listen ports", "network"},
	{"net.core.default_qdisc", "fq", "fair queueing paces each flow, which BBR relies on", "network"},
	{"net.ipv4.tcp_congestion_control", "bbr", "BBR keeps throughput high and queues short under loss; tune.sh checks the kernel has it", "network"},
	{"vm.swappiness", "10", "drop page cache before swapping out the service's heap", "memory"},
	{"vm.dirty_ratio", "15", "block writers earlier so flushing dirty pages never stalls for long", "memory"},
	{"vm.dirty_background_ratio", "5", "start background writeback early, in small batches", "memory"},
}

// podSafeSysctls are the sysctls the Pod Security Standards "restricted"
// (and "baseline") profile accepts in a pod on every supported Kubernetes
// version. Newer releases allow more (tcp_rmem, keepalive); keeping to the
// old set lets the manifests run on older kubelets too.
var podSafeSysctls = map[string]bool{
	"net.ipv4.ip_local_port_range": true,
}

// newDeployment computes the deployment settings of the project d
// describes; d's other fields must already be set.
func newDeployment(d *Data) Deployment {
	s := d.Spec
	var ports []NamedPort
	if d.HTTP {
		ports = append(ports, NamedPort{Name: "http", Port: d.Ports.HTTP, Public: true})
	}
	if d.GRPC {
		ports = append(ports, NamedPort{Name: "grpc", Port: d.Ports.GRPC, Public: true})
	}
	ports = append(ports, NamedPort{Name: "admin", Port: d.Ports.Admin})

	cores := max(1, (s.SLO.RPS+rpsPerCore-1)/rpsPerCore)
	var pod []Sysctl
	for _, sc := range hostSysctls {
		if podSafeSysctls[sc.Key] {
			pod = append(pod, sc)
		}
	}
	return Deployment{
		BuildImage:             "golang:" + majorMinor(GoVersion),
		RuntimeImage:           "gcr.io/distroless/static-debian12:nonroot",
		PostgresImage:          "postgres:17-alpine",
		PrometheusImage:        "prom/prometheus:v3.5.0",
		RunAsID:                runAsID,
		Ports:                  ports,
		Replicas:               2,
		MaxReplicas:            10,
		CPUMillis:              cores * 1000,
		RPSPerCore:             rpsPerCore,
		MemoryMiB:              s.SLO.RSSMiB,
		EphemeralStorageMiB:    256,
		TmpMiB:                 64,
		CPUTargetPercent:       s.SLO.CPUPercent,
		ShutdownDelaySeconds:   shutdownDelaySeconds,
		ShutdownTimeoutSeconds: shutdownTimeoutSeconds,
		StopGraceSeconds:       shutdownDelaySeconds + shutdownTimeoutSeconds + stopMarginSeconds,
		NoFile:                 1 << 20,
		Sysctls:                hostSysctls,
		PodSysctls:             pod,
	}
}

// majorMinor turns "1.25.0" into "1.25".
func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}
