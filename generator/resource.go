package generator

import (
	"errors"
	"fmt"
	"go/token"
	"go/types"
	"slices"
	"strings"
)

// A Resource is one API the project serves besides items, as `perfgen add
// resource` records it in the answers: a collection of records with an ID,
// the fields below, and their creation and update times.
type Resource struct {
	// Name is the collection's name, plural: "orders". It names the Go
	// package (internal/orders), the HTTP collection (/v1/orders), the
	// .proto file and the Postgres table.
	Name string `yaml:"name"`
	// Singular names one record ("order"); empty derives it from Name
	// (see Singular).
	Singular string `yaml:"singular,omitempty"`
	// Fields are the client-settable fields, in .proto number order.
	Fields []ResourceField `yaml:"fields"`
}

// A ResourceField is one client-settable field of a Resource.
type ResourceField struct {
	// Name is the field's snake_case name, as in the .proto.
	Name string `yaml:"name"`
	// Type is one of FieldTypes.
	Type FieldType `yaml:"type"`
	// Optional gives the field proto3 presence: a client may leave it
	// out, and the record tells "absent" from the zero value.
	Optional bool `yaml:"optional,omitempty"`
}

// FieldType is the type of a resource field.
type FieldType string

// The types a resource field can have.
const (
	FieldString    FieldType = "string"
	FieldInt32     FieldType = "int32"
	FieldInt64     FieldType = "int64"
	FieldDouble    FieldType = "double"
	FieldBool      FieldType = "bool"
	FieldTimestamp FieldType = "timestamp"
)

// FieldTypes lists every FieldType, in the order prompts show them.
var FieldTypes = []FieldType{FieldString, FieldInt32, FieldInt64, FieldDouble, FieldBool, FieldTimestamp}

// FieldTypeHelp says what a value of each type must be when the field is
// required; docs/cli.md repeats it.
var FieldTypeHelp = map[FieldType]string{
	FieldString:    "UTF-8 text without NUL bytes, 1 to 1000 characters when required",
	FieldInt32:     "32-bit integer; 0 when not sent",
	FieldInt64:     "64-bit integer (a JSON string); 0 when not sent",
	FieldDouble:    "finite 64-bit float (no NaN or infinity); 0 when not sent",
	FieldBool:      "true or false; false when not sent",
	FieldTimestamp: "RFC 3339 time between years 1 and 9999, kept to the microsecond; must be sent when required",
}

// ParseFieldType parses a field type name.
func ParseFieldType(s string) (FieldType, error) {
	return parseEnum("field type", s, FieldTypes)
}

// ParseField parses a field as `perfgen add resource --field` takes it:
// name:type, or name:type:optional.
func ParseField(s string) (ResourceField, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return ResourceField{}, fmt.Errorf("invalid field %q: write name:type or name:type:optional, such as total_cents:int64", s)
	}
	t, err := ParseFieldType(parts[1])
	if err != nil {
		return ResourceField{}, fmt.Errorf("invalid field %q: %w", s, err)
	}
	f := ResourceField{Name: parts[0], Type: t}
	if len(parts) == 3 {
		if parts[2] != "optional" {
			return ResourceField{}, fmt.Errorf("invalid field %q: the third part can only be optional", s)
		}
		f.Optional = true
	}
	if err := checkFieldName(f.Name); err != nil {
		return ResourceField{}, err
	}
	return f, nil
}

// Check reports whether f's name and type are valid for a field.
func (f ResourceField) Check() error {
	if err := checkFieldName(f.Name); err != nil {
		return err
	}
	_, err := ParseFieldType(string(f.Type))
	return err
}

// String formats f as --field takes it.
func (f ResourceField) String() string {
	s := f.Name + ":" + string(f.Type)
	if f.Optional {
		s += ":optional"
	}
	return s
}

// SingularName returns the name of one record: r.Singular when given, else
// Name with its plural ending removed by these rules, first match wins:
// "ies" -> "y" (categories -> category); "sses", "shes", "ches", "xes",
// "zes" -> drop "es" (addresses -> address, boxes -> box); "ss" stays
// (glass); "s" -> drop it (orders -> order). A name the rules do not fit
// (people, or a name that is not plural) keeps its own name as the
// singular unless Singular is given.
func (r Resource) SingularName() string {
	if r.Singular != "" {
		return r.Singular
	}
	n := r.Name
	switch {
	case strings.HasSuffix(n, "ies") && len(n) > 3:
		return strings.TrimSuffix(n, "ies") + "y"
	case strings.HasSuffix(n, "sses"), strings.HasSuffix(n, "shes"), strings.HasSuffix(n, "ches"),
		strings.HasSuffix(n, "xes"), strings.HasSuffix(n, "zes"):
		return strings.TrimSuffix(n, "es")
	case strings.HasSuffix(n, "ss"):
		return n
	case strings.HasSuffix(n, "s") && len(n) > 1:
		return strings.TrimSuffix(n, "s")
	}
	return n
}

// fileNames are the files of an added resource's package, which its
// record's file (SINGULAR.go) must not be.
var fileNames = []string{"service", "grpc", "server", "http", "resource"}

// recordGoFields are the Go fields every record has besides its own.
var recordGoFields = []string{"ID", "Id", "CreatedAt", "UpdatedAt", "CreateTime", "UpdateTime"}

// reservedFieldNames are the fields every resource has already.
var reservedFieldNames = []string{"id", "create_time", "update_time"}

// protoReserved are the words of the proto language, which a .proto
// message, service or field cannot be named without confusing readers
// (and some tools).
var protoReserved = []string{
	"syntax", "edition", "import", "weak", "public", "package", "option", "message", "enum", "service",
	"rpc", "returns", "stream", "oneof", "map", "repeated", "optional", "required", "reserved",
	"extensions", "extend", "to", "max", "group", "true", "false", "inf", "nan",
	"double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
	"fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
}

// projectPackages are the packages under internal/ (and their neighbours)
// that a generated project may have: a resource named like one would
// write into it.
var projectPackages = []string{
	"items", "cache", "config", "server", "resource", "store", "httpjson", "metrics", "counter",
	"limiter", "connlimit", "httpclient", "lb", "memstats", "profiling", "loadtest", "slow",
	"pgtest", "memory", "postgres", "migrations", "api", "proto", "openapi", "loadgen", "grpc",
	"http", "v1", "internal", "cmd", "bench", "deploy", "testdata", "vendor",
}

// maxResourceNameLen bounds a resource name, so its table, package and
// messages have reasonable names.
const maxResourceNameLen = 40

// checkResourceName reports whether name can name a resource of the
// project called project.
func checkResourceName(what, name, project string) error {
	const fix = "use lowercase letters and digits, starting with a letter, such as orders"
	switch {
	case name == "":
		return fmt.Errorf("resource %s is empty; %s", what, fix)
	case len(name) > maxResourceNameLen:
		return fmt.Errorf("invalid resource %s %q: longer than %d characters; choose a shorter name", what, name, maxResourceNameLen)
	case name[0] < 'a' || name[0] > 'z':
		return fmt.Errorf("invalid resource %s %q: must start with a lowercase letter; %s", what, name, fix)
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return fmt.Errorf("invalid resource %s %q: %q is not allowed; %s", what, name, r, fix)
		}
	}
	switch {
	case token.IsKeyword(name):
		return fmt.Errorf("invalid resource %s %q: it is a Go keyword; choose another name, such as my%s", what, name, name)
	case types.Universe.Lookup(name) != nil:
		return fmt.Errorf("invalid resource %s %q: it is a predeclared Go identifier; choose another name, such as my%s", what, name, name)
	case slices.Contains(protoReserved, name):
		return fmt.Errorf("invalid resource %s %q: it is a word of the proto language; choose another name, such as my%s", what, name, name)
	case name == goPackage(project):
		return fmt.Errorf("invalid resource %s %q: the project's .proto package is called that; choose another name", what, name)
	}
	return nil
}

// checkFieldName reports whether name can name a resource field.
func checkFieldName(name string) error {
	const fix = "use snake_case: lowercase letters, digits and single underscores, starting with a letter, such as total_cents"
	switch {
	case name == "":
		return fmt.Errorf("field name is empty; %s", fix)
	case len(name) > maxResourceNameLen:
		return fmt.Errorf("invalid field name %q: longer than %d characters; choose a shorter name", name, maxResourceNameLen)
	case name[0] < 'a' || name[0] > 'z':
		return fmt.Errorf("invalid field name %q: must start with a lowercase letter; %s", name, fix)
	case strings.HasSuffix(name, "_") || strings.Contains(name, "__"):
		return fmt.Errorf("invalid field name %q: underscores must separate words; %s", name, fix)
	case slices.Contains(reservedFieldNames, name):
		return fmt.Errorf("invalid field name %q: every resource has %s already; choose another name", name, strings.Join(reservedFieldNames, ", "))
	case token.IsKeyword(name) || types.Universe.Lookup(name) != nil || slices.Contains(protoReserved, name):
		return fmt.Errorf("invalid field name %q: it is a Go or proto word; choose another name, such as %s_value", name, name)
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return fmt.Errorf("invalid field name %q: %q is not allowed; %s", name, r, fix)
		}
	}
	return nil
}

// CheckResource reports whether r can be added to a project with the
// answers s (which must not already hold r): its name, its singular and its
// fields are valid, and nothing it generates collides with what the project
// has. perfgen add resource calls it before changing anything.
func (s Spec) CheckResource(r Resource) error {
	if i := slices.IndexFunc(s.Resources, func(o Resource) bool { return o.Name == r.Name }); i >= 0 {
		return fmt.Errorf("resource %q exists already (see resources in %s); choose another name", r.Name, AnswersFile)
	}
	return s.checkResource(r, s.Resources)
}

// checkResource checks r against the project's other resources.
func (s Spec) checkResource(r Resource, others []Resource) error {
	if err := checkResourceName("name", r.Name, s.Name); err != nil {
		return err
	}
	if slices.Contains(projectPackages, r.Name) {
		if r.Name == "items" {
			return fmt.Errorf("resource %q exists already: it is the project's example resource; choose another name", r.Name)
		}
		return fmt.Errorf("invalid resource name %q: the project has a package or directory called that; choose another name", r.Name)
	}
	if r.Singular != "" {
		if err := checkResourceName("singular", r.Singular, s.Name); err != nil {
			return err
		}
	}
	if len(r.Fields) == 0 {
		return fmt.Errorf("resource %q has no fields; give at least one, such as --field customer:string", r.Name)
	}
	if slices.Contains(fileNames, r.SingularName()) {
		return fmt.Errorf("invalid resource %q: its record, %q, would be written to internal/%s/%s.go, which the resource's package has already; give another --singular",
			r.Name, r.SingularName(), r.Name, r.SingularName())
	}
	seen := map[string]bool{}
	for _, f := range r.Fields {
		if err := checkFieldName(f.Name); err != nil {
			return fmt.Errorf("resource %q: %w", r.Name, err)
		}
		if g := goCamelCase(f.Name); slices.Contains(recordGoFields, g) {
			return fmt.Errorf("resource %q: invalid field name %q: its Go name %s is a field every record has already; choose another name", r.Name, f.Name, g)
		}
		if _, err := ParseFieldType(string(f.Type)); err != nil {
			return fmt.Errorf("resource %q field %s: %w", r.Name, f.Name, err)
		}
		if seen[f.Name] {
			return fmt.Errorf("resource %q: field %s is given twice; give each field once", r.Name, f.Name)
		}
		seen[f.Name] = true
	}
	mine := newResourceData(r, 0).protoNames()
	taken := itemsProtoNames
	for _, o := range others {
		if o.Name == r.Name {
			continue
		}
		taken = append(slices.Clone(taken), newResourceData(o, 0).protoNames()...)
		if o.SingularName() == r.SingularName() {
			return fmt.Errorf("resources %q and %q both name one record %q; give one of them another --singular", o.Name, r.Name, r.SingularName())
		}
	}
	for _, n := range mine {
		if slices.Contains(taken, n) {
			return fmt.Errorf("resource %q would declare %s, which the project's .proto package has already; choose another name or --singular", r.Name, n)
		}
	}
	return nil
}

// checkResources checks every resource of s.
func (s Spec) checkResources() error {
	var errs []error
	names := map[string]bool{}
	for _, r := range s.Resources {
		if names[r.Name] {
			errs = append(errs, fmt.Errorf("resource %q is listed twice in resources; keep one", r.Name))
			continue
		}
		names[r.Name] = true
		if err := s.checkResource(r, s.Resources); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// itemsProtoNames are the names the items resource declares in the
// project's .proto package.
var itemsProtoNames = []string{
	"ItemsService", "Item", "CreateItemRequest", "GetItemRequest", "ListItemsRequest", "ListItemsResponse",
	"DeleteItemRequest", "DeleteItemResponse", "StreamItemsRequest",
}
