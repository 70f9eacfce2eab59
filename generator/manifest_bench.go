package generator

// benchManifest lists the benchmark and load-test harness.
var benchManifest = []Entry{}
