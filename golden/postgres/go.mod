module example.com/orders

go 1.25.0

require (
	github.com/prometheus/client_golang v1.24.1
	golang.org/x/sync v0.22.0
	github.com/jackc/pgx/v5 v5.13.0
)
