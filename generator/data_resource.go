package generator

import (
	"fmt"
	"strings"
)

// ResourceData is what the templates of an added resource need to know
// about it, computed from its answers (a Resource). Per-resource manifest
// entries render once for each resource, with Data.Resource set to it.
type ResourceData struct {
	// Name is the collection: the Go package, the HTTP collection, the
	// .proto file's base name and the Postgres table, e.g. "orders".
	Name string
	// Singular names one record, e.g. "order".
	Singular string
	// Indefinite is Singular with its indefinite article, e.g. "an order".
	Indefinite string
	// Type is the exported singular, the Go type and the .proto message,
	// e.g. "Order".
	Type string
	// Plural is the exported collection name, e.g. "Orders" (ListOrders).
	Plural string
	// Service is the .proto service, e.g. "OrdersService".
	Service string
	// Migration is the file name of the migration that creates its
	// table, numbered from firstResourceMigration in the order resources
	// were added, e.g. "0003_create_orders.sql".
	Migration string
	// Fields are the client-settable fields, in answers order.
	Fields []FieldData
	// HasTimestamp and HasDouble report whether any field has that type
	// (the code imports time, or math).
	HasTimestamp, HasDouble bool
	// HasRequired reports whether any field has a rule Validate checks
	// (a required string or timestamp, a string, a double).
	HasRequired bool
	// HasOptional reports whether any field is optional.
	HasOptional bool
	// FirstString is the first string field, for the tests of text
	// rules; its Name is empty when the resource has none.
	FirstString FieldData
}

// FieldData is one field of an added resource, for its templates.
type FieldData struct {
	// Name is the snake_case name in the .proto and the database column,
	// e.g. "total_cents".
	Name string
	// JSON is the field's name in the JSON mapping, e.g. "totalCents".
	JSON string
	// GoName is the Go field name, as protoc-gen-go names the message
	// field, e.g. "TotalCents".
	GoName string
	// Type is the answer's type.
	Type FieldType
	// Optional reports proto3 presence: the Go field is a pointer, nil
	// when absent, and the column is nullable.
	Optional bool
	// String, Int32, Int64, Double, Bool and Timestamp report the type.
	String, Int32, Int64, Double, Bool, Timestamp bool
	// GoType is the Go type of the record's field: "string",
	// "*time.Time".
	GoType string
	// GoValueType is GoType without the pointer.
	GoValueType string
	// ProtoType is the .proto type: "int64", "google.protobuf.Timestamp".
	ProtoType string
	// SQLType is the Postgres column type with its NOT NULL.
	SQLType string
	// Sample and Other are two different valid Go values of GoValueType,
	// for the tests; JSONSample and JSONOther are them in the JSON mapping.
	Sample, Other, JSONSample, JSONOther string
	// Number is the field's number in the record's message; the create
	// request numbers the fields from 1, the update request from 2.
	Number int
	// CreateNumber and UpdateNumber are its numbers in the create and
	// update requests.
	CreateNumber, UpdateNumber int
}

// firstResourceMigration numbers the first added resource's migration:
// 0001 creates items, and 0002 is kept for the cache invalidation
// triggers every Postgres project gets. Migration numbers follow the
// resources' order in the answers, so resources are only ever appended.
const firstResourceMigration = 3

// newResourceData computes the template data of r, the index-th resource
// added (0 for the first).
func newResourceData(r Resource, index int) ResourceData {
	singular := r.SingularName()
	d := ResourceData{
		Name:       r.Name,
		Singular:   singular,
		Indefinite: indefinite(singular),
		Type:       goCamelCase(singular),
		Plural:     goCamelCase(r.Name),
		Service:    goCamelCase(r.Name) + "Service",
		Migration:  fmt.Sprintf("%04d_create_%s.sql", index+firstResourceMigration, r.Name),
	}
	for i, f := range r.Fields {
		fd := newFieldData(f)
		fd.Number = i + 2
		fd.CreateNumber = i + 1
		fd.UpdateNumber = i + 2
		d.Fields = append(d.Fields, fd)
		d.HasTimestamp = d.HasTimestamp || fd.Timestamp
		d.HasDouble = d.HasDouble || fd.Double
		d.HasRequired = d.HasRequired || fd.String || fd.Double || (fd.Timestamp && !fd.Optional)
		d.HasOptional = d.HasOptional || fd.Optional
		if fd.String && d.FirstString.Name == "" {
			d.FirstString = fd
		}
	}
	return d
}

// fieldTypeInfo holds, per field type: the Go type, the .proto type, the
// Postgres type, two valid sample Go values and the first's JSON.
var fieldTypeInfo = map[FieldType]struct{ goType, protoType, sqlType, sample, other, json, jsonOther string }{
	FieldString:    {"string", "string", "text", `"alpha"`, `"beta"`, `"alpha"`, `"beta"`},
	FieldInt32:     {"int32", "int32", "integer", "7", "-3", "7", "-3"},
	FieldInt64:     {"int64", "int64", "bigint", "1234567890123", "42", `"1234567890123"`, `"42"`},
	FieldDouble:    {"float64", "double", "double precision", "2.5", "-0.125", "2.5", "-0.125"},
	FieldBool:      {"bool", "bool", "boolean", "true", "false", "true", "false"},
	FieldTimestamp: {"time.Time", "google.protobuf.Timestamp", "timestamptz", "time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)", "time.Date(2027, 6, 7, 8, 9, 10, 123000, time.UTC)", `"2026-01-02T03:04:05Z"`, `"2027-06-07T08:09:10.000123Z"`},
}

func newFieldData(f ResourceField) FieldData {
	info := fieldTypeInfo[f.Type]
	fd := FieldData{
		Name:        f.Name,
		JSON:        jsonName(f.Name),
		GoName:      goCamelCase(f.Name),
		Type:        f.Type,
		Optional:    f.Optional,
		String:      f.Type == FieldString,
		Int32:       f.Type == FieldInt32,
		Int64:       f.Type == FieldInt64,
		Double:      f.Type == FieldDouble,
		Bool:        f.Type == FieldBool,
		Timestamp:   f.Type == FieldTimestamp,
		GoType:      info.goType,
		GoValueType: info.goType,
		ProtoType:   info.protoType,
		SQLType:     info.sqlType + " NOT NULL",
		Sample:      info.sample,
		Other:       info.other,
		JSONSample:  info.json,
		JSONOther:   info.jsonOther,
	}
	if f.Optional {
		fd.GoType = "*" + info.goType
		fd.SQLType = info.sqlType
	}
	return fd
}

// protoNames returns the names the resource declares in the project's
// .proto package.
func (d ResourceData) protoNames() []string {
	return []string{
		d.Service, d.Type,
		"Create" + d.Type + "Request", "Get" + d.Type + "Request", "Update" + d.Type + "Request",
		"List" + d.Plural + "Request", "List" + d.Plural + "Response",
		"Delete" + d.Type + "Request", "Delete" + d.Type + "Response",
	}
}

// newResourcesData computes the data of every resource of s, in order.
func newResourcesData(s Spec) []ResourceData {
	var out []ResourceData
	for i, r := range s.Resources {
		out = append(out, newResourceData(r, i))
	}
	return out
}

// goCamelCase returns the Go name protoc-gen-go gives a .proto field or
// message name: "total_cents" -> "TotalCents", "line2_total" ->
// "Line2Total".
func goCamelCase(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' && i == 0:
			b.WriteByte('X')
		case c == '_' && i+1 < len(s) && isLower(s[i+1]):
			// The next letter is capitalized instead.
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			if isLower(c) {
				c -= 'a' - 'A'
			}
			b.WriteByte(c)
			for ; i+1 < len(s) && isLower(s[i+1]); i++ {
				b.WriteByte(s[i+1])
			}
		}
	}
	return b.String()
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

// jsonName returns the proto3 JSON name of a field: "total_cents" ->
// "totalCents".
func jsonName(s string) string {
	var b strings.Builder
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_':
			upper = true
		case upper && isLower(c):
			b.WriteByte(c - ('a' - 'A'))
			upper = false
		default:
			b.WriteByte(c)
			upper = false
		}
	}
	return b.String()
}

// indefinite returns word with "a" or "an" before it, by its first letter:
// "an order", "a customer".
func indefinite(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}
