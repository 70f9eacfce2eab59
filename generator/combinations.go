package generator

// Combinations returns the default answers for a service called demo in
// every combination of options a project can choose: transports x stores x
// cache x upstream x every subset of deploy outputs; and, for each
// transport that serves the .proto API, store and cache, one with
// SampleResource added, so the templates of added resources are rendered
// too. A template check renders them all.
func Combinations() []Spec {
	var out []Spec
	for _, tr := range Transports {
		for _, st := range Stores {
			for _, cache := range []bool{false, true} {
				for _, upstream := range []bool{false, true} {
					if upstream && tr == TransportGRPC {
						continue // the same project as without: upstream needs HTTP
					}
					for mask := range 1 << len(Deploys) {
						s := DefaultSpec("demo")
						s.Transport, s.Store, s.Cache, s.Upstream, s.Deploy = tr, st, cache, upstream, nil
						for i, d := range Deploys {
							if mask&(1<<i) != 0 {
								s.Deploy = append(s.Deploy, d)
							}
						}
						out = append(out, s)
					}
				}
			}
		}
	}
	for _, tr := range []Transport{TransportGRPC, TransportBoth} {
		for _, st := range Stores {
			for _, cache := range []bool{false, true} {
				s := DefaultSpec("demo")
				s.Transport, s.Store, s.Cache, s.Deploy = tr, st, cache, nil
				s.Resources = []Resource{SampleResource()}
				out = append(out, s)
			}
		}
	}
	return out
}

// SampleResource is a resource with a field of every type, required and
// optional, for checks that render the templates of added resources.
func SampleResource() Resource {
	r := Resource{Name: "widgets"}
	for _, t := range FieldTypes {
		r.Fields = append(r.Fields,
			ResourceField{Name: "a_" + string(t), Type: t},
			ResourceField{Name: "maybe_" + string(t), Type: t, Optional: true})
	}
	return r
}
