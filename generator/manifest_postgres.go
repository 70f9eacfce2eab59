package generator

// postgresManifest lists the Postgres store: pool, migrations and query tracing.
var postgresManifest = []Entry{}
