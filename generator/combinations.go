package generator

// Combinations returns the default answers for a service called demo in
// every combination of options a project can choose: transports x stores x
// cache x upstream x every subset of deploy outputs. A template check
// renders them all.
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
	return out
}
