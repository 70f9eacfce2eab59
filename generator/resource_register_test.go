package generator_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/perfgen/perfgen/generator"
)

// TestEveryResourceIsRegistered renders a project with an added resource
// for every transport, store and cache choice, and checks the one list in
// cmd/NAME/resources.go registers it: rendering drops an unused import, so a
// branch of that template without the resource's line still compiles, and
// the service would answer 404 on the resource's routes.
func TestEveryResourceIsRegistered(t *testing.T) {
	for _, transport := range generator.Transports {
		for _, store := range generator.Stores {
			for _, cache := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s-%s-cache%t", transport, store, cache), func(t *testing.T) {
					spec := generator.DefaultSpec("shop")
					spec.Transport, spec.Store, spec.Cache, spec.Deploy = transport, store, cache, nil
					spec.Resources = []generator.Resource{{Name: "orders", Fields: []generator.ResourceField{{Name: "customer", Type: generator.FieldString}}}}
					files := renderFiles(t, spec)
					assert.Contains(t, string(files["cmd/shop/resources.go"]), "orders.Register(set, ", "cmd/shop/resources.go does not register orders")
				})
			}
		}
	}
}
