package generator

// deployManifest lists container, Kubernetes, compose and host-tuning outputs.
var deployManifest = []Entry{}
