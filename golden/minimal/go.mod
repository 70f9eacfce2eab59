module example.com/minimal

go 1.25.0

require (
	github.com/prometheus/client_golang v1.24.1
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.58.0
	golang.org/x/sync v0.22.0
)
