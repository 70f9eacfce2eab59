package generator

// postgresManifest lists the Postgres store: pool, migrations and query tracing.
var postgresManifest = []Entry{
	{"service/internal/server/postgres_test.go.tmpl", "internal/server/postgres_test.go", All(IfPostgres, IfHTTP), modeFile},
	{"service/cmd/migrate.go.tmpl", "cmd/{{.Name}}/migrate.go", IfPostgres, modeFile},
	{"service/cmd/migrate_test.go.tmpl", "cmd/{{.Name}}/migrate_test.go", IfPostgres, modeFile},
	{"service/internal/pgtest/pgtest.go.tmpl", "internal/pgtest/pgtest.go", IfPostgres, modeFile},
	{"service/internal/pgtest/proxy.go.tmpl", "internal/pgtest/proxy.go", IfPostgres, modeFile},
	{"service/internal/pgtest/proxy_test.go.tmpl", "internal/pgtest/proxy_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/postgres.go.tmpl", "internal/store/postgres/postgres.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/migrate.go.tmpl", "internal/store/postgres/migrate.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/migrations/0001_create_items.sql.tmpl", "internal/store/postgres/migrations/0001_create_items.sql", IfPostgres, modeFile},
	{"service/internal/store/postgres/tracer.go.tmpl", "internal/store/postgres/tracer.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/collector.go.tmpl", "internal/store/postgres/collector.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/helpers_test.go.tmpl", "internal/store/postgres/helpers_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/postgres_test.go.tmpl", "internal/store/postgres/postgres_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/migrate_test.go.tmpl", "internal/store/postgres/migrate_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/metrics_test.go.tmpl", "internal/store/postgres/metrics_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/service_test.go.tmpl", "internal/store/postgres/service_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/outage_test.go.tmpl", "internal/store/postgres/outage_test.go", IfPostgres, modeFile},
	{"service/internal/store/postgres/bench_test.go.tmpl", "internal/store/postgres/bench_test.go", IfPostgres, modeFile},
}
