module example.com/orders

go 1.25.0

require (
	github.com/prometheus/client_golang v1.24.1
	github.com/jackc/pgx/v5 v5.13.0
)
