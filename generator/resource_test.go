package generator

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSingularName(t *testing.T) {
	for plural, want := range map[string]string{
		"orders": "order", "categories": "category", "addresses": "address", "boxes": "box",
		"matches": "match", "wishes": "wish", "quizzes": "quizz", "glass": "glass", "people": "people",
		"inventory": "inventory", "s": "s", "series": "sery",
	} {
		assert.Equal(t, want, Resource{Name: plural}.SingularName(), plural)
	}
	assert.Equal(t, "person", Resource{Name: "people", Singular: "person"}.SingularName())
}

func TestGoAndJSONNames(t *testing.T) {
	for in, want := range map[string][2]string{
		"total_cents": {"TotalCents", "totalCents"},
		"line2_total": {"Line2Total", "line2Total"},
		"a_1":         {"A_1", "a1"},
		"order":       {"Order", "order"},
	} {
		assert.Equal(t, want[0], goCamelCase(in), in)
		assert.Equal(t, want[1], jsonName(in), in)
	}
	assert.Equal(t, "an order", indefinite("order"))
	assert.Equal(t, "a box", indefinite("box"))
}

func TestParseField(t *testing.T) {
	f, err := ParseField("note:string:optional")
	require.NoError(t, err)
	assert.Equal(t, ResourceField{Name: "note", Type: FieldString, Optional: true}, f)
	assert.Equal(t, "note:string:optional", f.String())
	for _, bad := range []string{"note", "note:", ":string", "note:text", "note:string:maybe", "a:b:c:d", "Note:string", "create_time:timestamp"} {
		_, err := ParseField(bad)
		assert.Error(t, err, bad)
	}
}

func TestCheckResource(t *testing.T) {
	spec := DefaultSpec("shop")
	spec.Resources = []Resource{{Name: "orders", Fields: []ResourceField{{Name: "customer", Type: FieldString}}}}
	ok := []ResourceField{{Name: "label", Type: FieldString}}
	require.NoError(t, spec.CheckResource(Resource{Name: "boxes", Fields: ok}))
	for name, r := range map[string]Resource{
		"exists":             {Name: "orders", Fields: ok},
		"items":              {Name: "items", Fields: ok},
		"keyword":            {Name: "func", Fields: ok},
		"predeclared":        {Name: "len", Fields: ok},
		"proto word":         {Name: "message", Fields: ok},
		"package":            {Name: "server", Fields: ok},
		"proto package":      {Name: "shop", Fields: ok},
		"uppercase":          {Name: "Orders", Fields: ok},
		"hyphen":             {Name: "line-items", Fields: ok},
		"no fields":          {Name: "boxes"},
		"same singular":      {Name: "orderss", Singular: "order", Fields: ok},
		"message name taken": {Name: "itemz", Singular: "item", Fields: ok},
		"file name taken":    {Name: "services", Fields: ok},
		"duplicate field":    {Name: "boxes", Fields: []ResourceField{{Name: "a", Type: FieldBool}, {Name: "a", Type: FieldInt32}}},
		"reserved field":     {Name: "boxes", Fields: []ResourceField{{Name: "update_time", Type: FieldTimestamp}}},
		"Go name taken":      {Name: "boxes", Fields: []ResourceField{{Name: "updated_at", Type: FieldTimestamp}}},
		"unknown type":       {Name: "boxes", Fields: []ResourceField{{Name: "a", Type: "float"}}},
	} {
		assert.Error(t, spec.CheckResource(r), name)
	}
	// Every transport serves resources: an HTTP-only project through the
	// generated HTTP bindings of its .proto.
	for _, tr := range Transports {
		other := spec
		other.Transport = tr
		assert.NoError(t, other.CheckResource(Resource{Name: "boxes", Fields: ok}), tr)
	}

	// The answers are checked as a whole too: a resource listed twice, or
	// one that breaks a rule, makes them invalid.
	spec.Resources = append(spec.Resources, spec.Resources[0])
	assert.ErrorContains(t, spec.Validate(), `resource "orders" is listed twice`)
}

func TestResourceDataNumbersFieldsAndMigrations(t *testing.T) {
	r := Resource{Name: "orders", Fields: []ResourceField{{Name: "customer", Type: FieldString}, {Name: "note", Type: FieldString, Optional: true}}}
	d := newResourceData(r, 1)
	assert.Equal(t, "0004_create_orders.sql", d.Migration)
	assert.Equal(t, []int{2, 3}, []int{d.Fields[0].Number, d.Fields[1].Number})
	assert.Equal(t, []int{1, 2}, []int{d.Fields[0].CreateNumber, d.Fields[1].CreateNumber})
	assert.Equal(t, []int{2, 3}, []int{d.Fields[0].UpdateNumber, d.Fields[1].UpdateNumber})
	assert.Equal(t, "*string", d.Fields[1].GoType)
	assert.Equal(t, "OrdersService", d.Service)
	assert.Equal(t, "customer", d.FirstString.Name)
	assert.True(t, d.HasOptional)
}
