package generator

// componentManifest lists the performance components: cache, pools, load shedding, balancing, telemetry.
var componentManifest = []Entry{}
