module example.com/minimal

go 1.25.0

require (
	github.com/prometheus/client_golang v1.24.1
	golang.org/x/sync v0.22.0
)
