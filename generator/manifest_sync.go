package generator

// syncManifest lists the files that keep a project in step with perfgen:
// the go:generate hook that runs `perfgen sync`.
var syncManifest = []Entry{
	{"service/generate.go.tmpl", "generate.go", Always, modeFile},
}
