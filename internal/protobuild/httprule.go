package protobuild

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// httpExtension is the field number of the google.api.http method option.
const httpExtension = 72295728

// An httpRule is a google.api.HttpRule as written in a method option.
type httpRule struct {
	verb, path   string
	custom       bool
	body         string
	responseBody string
	additional   []httpRule
}

// HttpRule field numbers, from google/api/http.proto.
const (
	ruleGet                = 2
	rulePut                = 3
	rulePost               = 4
	ruleDelete             = 5
	rulePatch              = 6
	ruleBody               = 7
	ruleCustom             = 8
	ruleAdditionalBindings = 11
	ruleResponseBody       = 12
)

// methodHTTPRule returns m's google.api.http option, if it has one. The
// option is read from the encoded options, so it works whether or not the
// Go type of the extension is linked into perfgen (it is not).
func methodHTTPRule(m *protogen.Method) (httpRule, bool, error) {
	opts := m.Desc.Options()
	if opts == nil {
		return httpRule{}, false, nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil {
		return httpRule{}, false, err
	}
	var rule []byte
	found := false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return httpRule{}, false, protowire.ParseError(n)
		}
		b = b[n:]
		if num == httpExtension && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return httpRule{}, false, protowire.ParseError(n)
			}
			// Repeated occurrences of a message field merge.
			rule = append(rule, v...)
			found = true
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return httpRule{}, false, protowire.ParseError(n)
		}
		b = b[n:]
	}
	if !found {
		return httpRule{}, false, nil
	}
	r, err := parseHTTPRule(rule)
	return r, true, err
}

func parseHTTPRule(b []byte) (httpRule, error) {
	var r httpRule
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return r, protowire.ParseError(n)
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return r, protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return r, protowire.ParseError(n)
		}
		b = b[n:]
		switch num {
		case ruleGet, rulePut, rulePost, ruleDelete, rulePatch:
			r.verb = map[protowire.Number]string{ruleGet: http.MethodGet, rulePut: http.MethodPut, rulePost: http.MethodPost, ruleDelete: http.MethodDelete, rulePatch: http.MethodPatch}[num]
			r.path = string(v)
			r.custom = false
		case ruleCustom:
			r.custom = true
		case ruleBody:
			r.body = string(v)
		case ruleResponseBody:
			r.responseBody = string(v)
		case ruleAdditionalBindings:
			a, err := parseHTTPRule(v)
			if err != nil {
				return r, err
			}
			r.additional = append(r.additional, a)
		}
	}
	return r, nil
}

// A binding is one HTTP endpoint of a method: a rule checked against the
// method's messages.
type binding struct {
	method *protogen.Method
	// verb and path are the rule's; pattern is the net/http ServeMux
	// pattern they map to.
	verb, path, pattern string
	// pathFields are the request fields bound by path variables, in path
	// order.
	pathFields []*protogen.Field
	// body is "", "*", or a request field name; bodyField is that field.
	body      string
	bodyField *protogen.Field
	// queryFields are the request fields that query parameters may set.
	queryFields []*protogen.Field
	// responseField is the response field written as the body, or nil for
	// the whole response.
	responseField *protogen.Field
	// handler is the name of the generated handler method.
	handler string
}

// methodBindings returns the bindings of m's google.api.http option.
func methodBindings(m *protogen.Method) ([]*binding, error) {
	rule, ok, err := methodHTTPRule(m)
	if err != nil {
		return nil, fmt.Errorf("read the google.api.http option: %w", err)
	}
	if !ok {
		return nil, nil
	}
	if m.Desc.IsStreamingClient() || m.Desc.IsStreamingServer() {
		return nil, errors.New("has a google.api.http option, but streaming methods have no HTTP binding; remove the option or make the method unary")
	}
	rules := append([]httpRule{rule}, rule.additional...)
	var out []*binding
	for i, r := range rules {
		if i > 0 && len(r.additional) > 0 {
			return nil, errors.New("an additional_bindings entry has additional_bindings of its own; list them all at the top level")
		}
		b, err := newBinding(m, r)
		if err != nil {
			return nil, err
		}
		b.handler = unexport(m.GoName)
		if i > 0 {
			b.handler += fmt.Sprint(i)
		}
		out = append(out, b)
	}
	return out, nil
}

func newBinding(m *protogen.Method, r httpRule) (*binding, error) {
	switch {
	case r.custom:
		return nil, fmt.Errorf("custom HTTP methods are not supported; use get, put, post, delete or patch")
	case r.verb == "":
		return nil, fmt.Errorf("the google.api.http option names no HTTP method and path; set get, put, post, delete or patch")
	}
	b := &binding{method: m, verb: r.verb, path: r.path, body: r.body}
	in := m.Input
	pattern, fields, err := pathPattern(r.path, in)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", r.path, err)
	}
	b.pattern = r.verb + " " + pattern
	b.pathFields = fields

	switch r.body {
	case "":
	case "*":
		if r.verb == http.MethodGet {
			return nil, fmt.Errorf("a GET binding cannot have a body; remove body or use post")
		}
	default:
		if r.verb == http.MethodGet {
			return nil, fmt.Errorf("a GET binding cannot have a body; remove body or use post")
		}
		f := fieldByName(in, r.body)
		if f == nil {
			return nil, fmt.Errorf("body %q is not a field of %s", r.body, in.Desc.FullName())
		}
		if f.Message == nil || f.Desc.IsList() || f.Desc.IsMap() || isTimestamp(f.Message) {
			return nil, fmt.Errorf("body %q must be a singular message field of %s", r.body, in.Desc.FullName())
		}
		if slices.Contains(fields, f) {
			return nil, fmt.Errorf("body %q is also bound by the path", r.body)
		}
		b.bodyField = f
	}
	if r.body != "*" {
		for _, f := range in.Fields {
			if slices.Contains(fields, f) || f == b.bodyField || !queryBindable(f) {
				continue
			}
			b.queryFields = append(b.queryFields, f)
		}
	}
	if r.responseBody != "" {
		f := fieldByName(m.Output, r.responseBody)
		if f == nil {
			return nil, fmt.Errorf("response_body %q is not a field of %s", r.responseBody, m.Output.Desc.FullName())
		}
		if f.Message == nil || f.Desc.IsList() || f.Desc.IsMap() || isTimestamp(f.Message) {
			return nil, fmt.Errorf("response_body %q must be a singular message field of %s", r.responseBody, m.Output.Desc.FullName())
		}
		b.responseField = f
	}
	return b, nil
}

// pathPattern turns a google.api.http path template into a net/http
// ServeMux path and lists the request fields its variables bind. Only the
// templates ServeMux can match are accepted: literal segments, whole-segment
// {field} variables naming a top-level scalar field, and a literal :verb
// suffix after a literal last segment.
func pathPattern(tmpl string, in *protogen.Message) (string, []*protogen.Field, error) {
	if !strings.HasPrefix(tmpl, "/") {
		return "", nil, fmt.Errorf("must start with /")
	}
	if tmpl != "/" && strings.HasSuffix(tmpl, "/") {
		return "", nil, fmt.Errorf("must not end with / (ServeMux would match every path below it)")
	}
	// A variable with a pattern may hold slashes: find those before
	// splitting into segments.
	for rest := tmpl; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			break
		}
		if v := rest[open : open+end+1]; strings.Contains(v, "=") {
			return "", nil, fmt.Errorf("variable %s has a path pattern; only {field} variables matching one segment are supported", v)
		}
		rest = rest[open+end+1:]
	}
	var fields []*protogen.Field
	segs := strings.Split(tmpl[1:], "/")
	for i, seg := range segs {
		switch {
		case seg == "" && tmpl != "/":
			return "", nil, fmt.Errorf("has an empty segment")
		case strings.HasPrefix(seg, "{"):
			end := strings.IndexByte(seg, '}')
			if end < 0 {
				return "", nil, fmt.Errorf("variable %q is not closed", seg)
			}
			if end != len(seg)-1 {
				return "", nil, fmt.Errorf("variable %s is followed by %q in its segment; ServeMux matches only whole-segment variables, so a :verb may follow only a literal segment", seg[:end+1], seg[end+1:])
			}
			name := seg[1:end]
			if strings.Contains(name, "=") {
				return "", nil, fmt.Errorf("variable %s has a path pattern; only {field} variables matching one segment are supported", seg)
			}
			if strings.Contains(name, ".") {
				return "", nil, fmt.Errorf("variable %s names a nested field; only top-level fields of %s can be path variables", seg, in.Desc.FullName())
			}
			f := fieldByName(in, name)
			if f == nil {
				return "", nil, fmt.Errorf("variable %s is not a field of %s", seg, in.Desc.FullName())
			}
			if !pathBindable(f) {
				return "", nil, fmt.Errorf("variable %s is a %s field; path variables must be singular strings, integers, bools or enums", seg, fieldKindName(f))
			}
			if slices.Contains(fields, f) {
				return "", nil, fmt.Errorf("variable %s appears twice", seg)
			}
			fields = append(fields, f)
		case strings.ContainsAny(seg, "{}"):
			return "", nil, fmt.Errorf("segment %q mixes a variable with literal text", seg)
		case strings.Contains(seg, "*"):
			return "", nil, fmt.Errorf("segment %q is a wildcard; name the field it binds as {field}", seg)
		case strings.ContainsAny(seg, " ?#%"):
			return "", nil, fmt.Errorf("segment %q has a character a path template cannot hold", seg)
		case strings.Contains(seg, ":") && i != len(segs)-1:
			return "", nil, fmt.Errorf("segment %q has a :verb, which only the last segment may have", seg)
		}
	}
	return tmpl, fields, nil
}

func fieldByName(m *protogen.Message, name string) *protogen.Field {
	for _, f := range m.Fields {
		if string(f.Desc.Name()) == name {
			return f
		}
	}
	return nil
}

// scalar reports whether f's values are strings, numbers, bools or enums.
func scalar(f *protogen.Field) bool {
	switch f.Desc.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind, protoreflect.BytesKind:
		return false
	}
	return true
}

func pathBindable(f *protogen.Field) bool {
	switch f.Desc.Kind() {
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return false
	}
	return scalar(f) && !f.Desc.IsList() && !f.Desc.IsMap() && f.Oneof == nil
}

func queryBindable(f *protogen.Field) bool {
	return scalar(f) && !f.Desc.IsMap() && (f.Oneof == nil || f.Oneof.Desc.IsSynthetic())
}

func fieldKindName(f *protogen.Field) string {
	switch {
	case f.Desc.IsMap():
		return "map"
	case f.Desc.IsList():
		return "repeated " + f.Desc.Kind().String()
	}
	return f.Desc.Kind().String()
}

func isTimestamp(m *protogen.Message) bool {
	return m.Desc.FullName() == "google.protobuf.Timestamp"
}
