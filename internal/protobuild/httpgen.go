package protobuild

import (
	"cmp"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The packages the HTTP handlers refer to.
const (
	httpPackage   = protogen.GoImportPath("net/http")
	errorsPackage = protogen.GoImportPath("errors")
	slicesPackage = protogen.GoImportPath("slices")
	mapsPackage   = protogen.GoImportPath("maps")
	mathPackage   = protogen.GoImportPath("math")
	strconvPkg    = protogen.GoImportPath("strconv")
	urlPackage    = protogen.GoImportPath("net/url")
)

// httpService is a service with at least one HTTP binding.
type httpService struct {
	s        *protogen.Service
	bindings []*binding
}

// generateHTTP writes <name>_http.pb.go for every file to generate that has
// services with google.api.http bindings, or messages those bindings carry
// as JSON: the JSON encoders and decoders of those messages, and for each
// service Register<Service>HTTP, which adds its routes to a ServeMux. When
// there are bindings it also writes OpenAPIFile, the OpenAPI document of
// all of them. httpOnly adds Strict<Service>Server to the file, as no gRPC
// stubs declare it, and refuses methods only gRPC could serve.
func generateHTTP(gen *protogen.Plugin, httpOnly bool) error {
	services := map[*protogen.File][]httpService{}
	var diags []Diagnostic
	var all []*binding
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		for _, s := range f.Services {
			hs := httpService{s: s}
			for _, m := range s.Methods {
				bs, err := methodBindings(m)
				if err != nil {
					diags = append(diags, methodDiagnostic(f, m, err.Error()))
					continue
				}
				if httpOnly {
					if msg := httpOnlyProblem(m, bs); msg != "" {
						diags = append(diags, methodDiagnostic(f, m, msg))
						continue
					}
				}
				hs.bindings = append(hs.bindings, bs...)
			}
			if len(hs.bindings) > 0 {
				services[f] = append(services[f], hs)
				all = append(all, hs.bindings...)
			}
		}
	}
	if len(diags) == 0 {
		diags = append(diags, checkRouteConflicts(gen, all)...)
	}
	messages, moreDiags := jsonMessages(gen, all)
	diags = append(diags, moreDiags...)
	if len(diags) > 0 {
		slices.SortStableFunc(diags, func(a, b Diagnostic) int {
			return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return &CompileError{Diagnostics: diags}
	}
	// The files of one Go package share one copy of the runtime, beside
	// them. gen.Files lists sources sorted by path, so the first file of
	// each package, whose path the runtime's header names, is the same on
	// every run.
	runtimes := map[string]*runtimeCopy{}
	var order []*protogen.File
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		var msgs []*protogen.Message
		for _, m := range allMessages(f.Messages) {
			if messages[m] {
				msgs = append(msgs, m)
			}
		}
		if len(msgs) == 0 && len(services[f]) == 0 {
			continue
		}
		dir := path.Dir(f.GeneratedFilenamePrefix)
		rt := runtimes[dir]
		if rt == nil {
			rt = &runtimeCopy{used: map[string]bool{}}
			runtimes[dir] = rt
			order = append(order, f)
		}
		writeHTTPFile(gen, f, msgs, services[f], rt, httpOnly)
	}
	for _, f := range order {
		if err := writeRuntimeFile(gen, f, runtimes[path.Dir(f.GeneratedFilenamePrefix)]); err != nil {
			return err
		}
	}
	if len(all) > 0 {
		doc := gen.NewGeneratedFile(OpenAPIFile, "")
		if _, err := doc.Write(writeOpenAPI(gen, services, messages)); err != nil {
			return err
		}
	}
	return nil
}

// httpOnlyProblem says why a service served without gRPC cannot have m,
// whose HTTP bindings are bs, or returns "".
func httpOnlyProblem(m *protogen.Method, bs []*binding) string {
	switch {
	case streaming(m):
		return "streaming needs gRPC, and the code is generated without it (--grpc=false); make the method unary with a google.api.http option, or remove it"
	case len(bs) == 0:
		return "no google.api.http option, and without gRPC (--grpc=false) nothing would serve the method; add one, such as option (google.api.http) = {get: \"/v1/...\"};"
	}
	return ""
}

// methodDiagnostic places msg at m's declaration.
func methodDiagnostic(f *protogen.File, m *protogen.Method, msg string) Diagnostic {
	d := Diagnostic{File: f.Desc.Path(), Message: fmt.Sprintf("method %s: %s", m.Desc.FullName(), msg)}
	if loc := f.Desc.SourceLocations().ByDescriptor(m.Desc); loc.Path != nil {
		d.Line, d.Col = loc.StartLine+1, loc.StartColumn+1
	}
	return d
}

func messageDiagnostic(m *protogen.Message, msg string) Diagnostic {
	f := m.Desc.ParentFile()
	d := Diagnostic{File: f.Path(), Message: fmt.Sprintf("message %s: %s", m.Desc.FullName(), msg)}
	if loc := f.SourceLocations().ByDescriptor(m.Desc); loc.Path != nil {
		d.Line, d.Col = loc.StartLine+1, loc.StartColumn+1
	}
	return d
}

// checkRouteConflicts registers every binding on one ServeMux, as a server
// that mounts every service would, and reports the pairs it refuses: two
// patterns that match the same requests with neither more specific.
func checkRouteConflicts(gen *protogen.Plugin, bindings []*binding) []Diagnostic {
	var diags []Diagnostic
	mux := http.NewServeMux()
	for _, b := range bindings {
		func() {
			defer func() {
				if r := recover(); r != nil {
					f := gen.FilesByPath[b.method.Desc.ParentFile().Path()]
					diags = append(diags, methodDiagnostic(f, b.method, fmt.Sprintf("HTTP binding %s %s conflicts with another: %v", b.verb, b.path, r)))
				}
			}()
			mux.HandleFunc(b.pattern, func(http.ResponseWriter, *http.Request) {})
		}()
	}
	return diags
}

// allMessages lists ms and the messages nested in them, map entries
// excepted, in declaration order.
func allMessages(ms []*protogen.Message) []*protogen.Message {
	var out []*protogen.Message
	for _, m := range ms {
		if m.Desc.IsMapEntry() {
			continue
		}
		out = append(out, m)
		out = append(out, allMessages(m.Messages)...)
	}
	return out
}

// jsonMessages returns the messages whose JSON the bindings read or write,
// and everything they contain, and reports those the generated codec cannot
// handle.
func jsonMessages(gen *protogen.Plugin, bindings []*binding) (map[*protogen.Message]bool, []Diagnostic) {
	generated := map[string]bool{}
	for _, f := range gen.Files {
		if f.Generate {
			generated[f.Desc.Path()] = true
		}
	}
	seen := map[*protogen.Message]bool{}
	var diags []Diagnostic
	var visit func(m *protogen.Message)
	visit = func(m *protogen.Message) {
		if seen[m] || isTimestamp(m) {
			return
		}
		seen[m] = true
		if !generated[m.Desc.ParentFile().Path()] {
			diags = append(diags, messageDiagnostic(m, "is carried as JSON by an HTTP binding, but it is declared in "+m.Desc.ParentFile().Path()+", which is not compiled here; only google.protobuf.Timestamp and messages of the compiled .proto files are supported"))
			return
		}
		for _, f := range m.Fields {
			if f.Oneof != nil && !f.Oneof.Desc.IsSynthetic() {
				diags = append(diags, messageDiagnostic(m, "field "+string(f.Desc.Name())+" is in a oneof, which the generated JSON codec does not support; use separate fields"))
				continue
			}
			if f.Desc.Kind() == protoreflect.GroupKind {
				diags = append(diags, messageDiagnostic(m, "field "+string(f.Desc.Name())+" is a group, which the generated JSON codec does not support"))
				continue
			}
			if f.Desc.IsMap() {
				if v := f.Message.Fields[1]; v.Message != nil {
					visit(v.Message)
				}
				continue
			}
			if f.Message != nil {
				visit(f.Message)
			}
		}
	}
	for _, b := range bindings {
		switch {
		case b.body == "*":
			visit(b.method.Input)
		case b.bodyField != nil:
			visit(b.bodyField.Message)
		}
		if b.responseField != nil {
			visit(b.responseField.Message)
		} else {
			visit(b.method.Output)
		}
	}
	return seen, diags
}

// httpFile writes one <name>_http.pb.go.
type httpFile struct {
	g    *protogen.GeneratedFile
	file *protogen.File
	// rt is the runtime of the file's package, which the file's code uses.
	rt *runtimeCopy
	// httpOnly: the file declares the Strict<Service>Server interfaces
	// and imports nothing of gRPC.
	httpOnly bool
}

// rtName is the name of a runtime declaration, which the package's
// RuntimeFile will hold.
func (w httpFile) rtName(name string) string { return w.rt.name(name) }

func writeHTTPFile(gen *protogen.Plugin, file *protogen.File, msgs []*protogen.Message, services []httpService, rt *runtimeCopy, httpOnly bool) {
	g := gen.NewGeneratedFile(file.GeneratedFilenamePrefix+"_http.pb.go", file.GoImportPath)
	rt.users = append(rt.users, g)
	w := httpFile{g: g, file: file, rt: rt, httpOnly: httpOnly}
	g.P("// Code generated by perfgen proto. DO NOT EDIT.")
	g.P("// source: ", file.Desc.Path())
	g.P()
	g.P("package ", file.GoPackageName)
	for _, s := range services {
		w.service(s)
	}
	for _, m := range msgs {
		w.appendJSON(m)
		w.unmarshalJSON(m)
		w.decodeJSON(m)
	}
}

// writeRuntimeFile writes RuntimeFile beside first, the first source of a
// Go package with HTTP code: the JSON scanner and writers and the HTTP
// helpers of package genrt that the package's NAME_http.pb.go files use.
// Its source line names first, so perfgen proto knows it for generated
// code of that directory.
func writeRuntimeFile(gen *protogen.Plugin, first *protogen.File, rt *runtimeCopy) error {
	name := path.Join(path.Dir(first.GeneratedFilenamePrefix), RuntimeFile)
	for _, f := range gen.Files {
		if f.Generate && path.Dir(f.GeneratedFilenamePrefix) == path.Dir(first.GeneratedFilenamePrefix) && path.Base(f.GeneratedFilenamePrefix)+".pb.go" == RuntimeFile {
			return &CompileError{Diagnostics: []Diagnostic{{File: f.Desc.Path(), Message: "its Go code would be " + name + ", the file of the package's HTTP runtime; rename the .proto"}}}
		}
	}
	g := gen.NewGeneratedFile(name, first.GoImportPath)
	g.P("// Code generated by perfgen proto. DO NOT EDIT.")
	g.P("// source: ", first.Desc.Path())
	g.P()
	g.P("// The proto3 JSON scanner and writers and the HTTP helpers that this")
	g.P("// package's *_http.pb.go files share.")
	g.P()
	g.P("package ", first.GoPackageName)
	return rt.write(g)
}

// jsonName is the lowerCamelCase name proto3 JSON writes for f.
func jsonName(f *protogen.Field) string { return f.Desc.JSONName() }

// jsonNames are the member names a decoder accepts for f: its JSON name and
// its name in the .proto.
func jsonNames(f *protogen.Field) []string {
	names := []string{jsonName(f)}
	if n := string(f.Desc.Name()); n != names[0] {
		names = append(names, n)
	}
	return names
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// pointer reports whether f is a singular scalar with explicit presence,
// which Go holds as a pointer.
func pointer(f *protogen.Field) bool {
	return f.Desc.HasPresence() && f.Message == nil && !f.Desc.IsList()
}

// appendJSON writes m's AppendJSON and MarshalJSON methods.
func (w httpFile) appendJSON(m *protogen.Message) {
	g := w.g
	name := m.GoIdent.GoName
	g.P()
	g.P("// AppendJSON appends x to b in the proto3 JSON mapping: lowerCamelCase")
	g.P("// names, 64-bit integers as strings, enums by name, and fields at their")
	g.P("// zero value left out. A nil x is written as {}.")
	g.P("func (x *", name, ") AppendJSON(b []byte) []byte {")
	g.P("b = append(b, '{')")
	if len(m.Fields) == 0 {
		g.P("return append(b, '}')")
		g.P("}")
	} else {
		g.P("if x == nil {")
		g.P("return append(b, '}')")
		g.P("}")
		g.P("start := len(b)")
		for _, f := range m.Fields {
			w.appendField(f)
		}
		g.P("return append(b, '}')")
		g.P("}")
	}
	g.P()
	g.P("// MarshalJSON returns x in the proto3 JSON mapping; see AppendJSON.")
	g.P("func (x *", name, ") MarshalJSON() ([]byte, error) {")
	g.P("return x.AppendJSON(nil), nil")
	g.P("}")
}

func (w httpFile) appendField(f *protogen.Field) {
	g := w.g
	v := "x." + f.GoName
	var present string
	switch {
	case f.Desc.IsList() || f.Desc.IsMap() || f.Desc.Kind() == protoreflect.BytesKind:
		present = "len(" + v + ") > 0"
	case f.Message != nil || pointer(f):
		present = v + " != nil"
	case f.Desc.Kind() == protoreflect.StringKind:
		present = v + ` != ""`
	case f.Desc.Kind() == protoreflect.BoolKind:
		present = v
	case f.Desc.Kind() == protoreflect.FloatKind || f.Desc.Kind() == protoreflect.DoubleKind:
		// -0 is set: proto3 keeps it apart from 0.
		present = v + " != 0 || " + g.QualifiedGoIdent(mathPackage.Ident("Signbit")) + "(float64(" + v + "))"
	default:
		present = v + " != 0"
	}
	g.P("if ", present, " {")
	g.P("if len(b) > start+1 {")
	g.P("b = append(b, ',')")
	g.P("}")
	g.P("b = append(b, `", strconv.Quote(jsonName(f)), ":`...)")
	switch {
	case f.Desc.IsMap():
		key, val := f.Message.Fields[0], f.Message.Fields[1]
		g.P("b = append(b, '{')")
		if key.Desc.Kind() == protoreflect.BoolKind {
			// Sorted, as every map is written: false first.
			g.P("mapStart := len(b)")
			g.P("for _, k := range [...]bool{false, true} {")
			g.P("v, ok := ", v, "[k]")
			g.P("if !ok {")
			g.P("continue")
			g.P("}")
			g.P("if len(b) > mapStart {")
			g.P("b = append(b, ',')")
			g.P("}")
			g.P("b = append(b, '\"')")
			g.P("b = ", strconvPkg.Ident("AppendBool"), "(b, k)")
			g.P("b = append(b, '\"', ':')")
			g.P("b = ", w.appendValue(val, "v"))
			g.P("}")
			g.P("b = append(b, '}')")
			break
		}
		g.P("for i, k := range ", slicesPackage.Ident("Sorted"), "(", mapsPackage.Ident("Keys"), "(", v, ")) {")
		g.P("if i > 0 {")
		g.P("b = append(b, ',')")
		g.P("}")
		if key.Desc.Kind() == protoreflect.StringKind {
			g.P("b = ", w.rtName("jsonAppendString"), "(b, k)")
		} else {
			g.P("b = append(b, '\"')")
			if unsigned(key.Desc.Kind()) {
				g.P("b = ", strconvPkg.Ident("AppendUint"), "(b, uint64(k), 10)")
			} else {
				g.P("b = ", strconvPkg.Ident("AppendInt"), "(b, int64(k), 10)")
			}
			g.P("b = append(b, '\"')")
		}
		g.P("b = append(b, ':')")
		g.P("b = ", w.appendValue(val, v+"[k]"))
		g.P("}")
		g.P("b = append(b, '}')")
	case f.Desc.IsList():
		g.P("b = append(b, '[')")
		g.P("for i, v := range ", v, " {")
		g.P("if i > 0 {")
		g.P("b = append(b, ',')")
		g.P("}")
		g.P("b = ", w.appendValue(f, "v"))
		g.P("}")
		g.P("b = append(b, ']')")
	case pointer(f):
		g.P("b = ", w.appendValue(f, "*"+v))
	default:
		g.P("b = ", w.appendValue(f, v))
	}
	g.P("}")
}

func unsigned(k protoreflect.Kind) bool {
	switch k {
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	}
	return false
}

// appendValue is the expression appending one value of f's type, v, to b.
func (w httpFile) appendValue(f *protogen.Field, v string) string {
	g := w.g
	switch f.Desc.Kind() {
	case protoreflect.StringKind:
		return w.rtName("jsonAppendString") + "(b, " + v + ")"
	case protoreflect.BoolKind:
		return g.QualifiedGoIdent(strconvPkg.Ident("AppendBool")) + "(b, " + v + ")"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return g.QualifiedGoIdent(strconvPkg.Ident("AppendInt")) + "(b, int64(" + v + "), 10)"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return g.QualifiedGoIdent(strconvPkg.Ident("AppendUint")) + "(b, uint64(" + v + "), 10)"
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return w.rtName("jsonAppendQuotedInt") + "(b, " + v + ")"
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return w.rtName("jsonAppendQuotedUint") + "(b, " + v + ")"
	case protoreflect.FloatKind:
		return w.rtName("jsonAppendFloat") + "(b, float64(" + v + "), 32)"
	case protoreflect.DoubleKind:
		return w.rtName("jsonAppendFloat") + "(b, " + v + ", 64)"
	case protoreflect.BytesKind:
		return w.rtName("jsonAppendBytes") + "(b, " + v + ")"
	case protoreflect.EnumKind:
		names := g.QualifiedGoIdent(protogen.GoIdent{GoName: f.Enum.GoIdent.GoName + "_name", GoImportPath: f.Enum.GoIdent.GoImportPath})
		return w.rtName("jsonAppendEnum") + "(b, int32(" + v + "), " + names + ")"
	}
	if isTimestamp(f.Message) {
		return w.rtName("jsonAppendTimestamp") + "(b, " + v + ".GetSeconds(), " + v + ".GetNanos())"
	}
	return v + ".AppendJSON(b)"
}

// unmarshalJSON writes m's UnmarshalJSON method.
func (w httpFile) unmarshalJSON(m *protogen.Message) {
	g := w.g
	g.P()
	g.P("// UnmarshalJSON sets x from data in the proto3 JSON mapping. It accepts")
	g.P("// each field's lowerCamelCase and .proto names, integers as numbers or")
	g.P("// strings, enums by name or number, and null for a field's default, and it")
	g.P("// rejects a member x has no field for, naming it.")
	g.P("func (x *", m.GoIdent.GoName, ") UnmarshalJSON(data []byte) error {")
	g.P("d := ", w.rtName("jsonDecoder"), "{data: data}")
	g.P("if err := x.decodeJSON(&d); err != nil {")
	g.P("return err")
	g.P("}")
	g.P("return d.end()")
	g.P("}")
}

// decodeJSON writes m's decodeJSON method, which UnmarshalJSON and the
// decoders of messages holding m call.
func (w httpFile) decodeJSON(m *protogen.Message) {
	g := w.g
	g.P()
	g.P("func (x *", m.GoIdent.GoName, ") decodeJSON(d *", w.rtName("jsonDecoder"), ") error {")
	if len(m.Fields) == 0 {
		g.P("return d.object(d.unknown)")
		g.P("}")
		return
	}
	g.P("return d.object(func(key []byte) error {")
	g.P("switch string(key) {")
	for _, f := range m.Fields {
		g.P("case ", quoteAll(jsonNames(f)), ":")
		w.decodeField(f)
	}
	g.P("default:")
	g.P("return d.unknown(key)")
	g.P("}")
	g.P("return nil")
	g.P("})")
	g.P("}")
}

func (w httpFile) decodeField(f *protogen.Field) {
	g := w.g
	v := "x." + f.GoName
	name := strconv.Quote(string(f.Desc.Name()))
	g.P("if d.null() {")
	if f.Desc.IsList() || f.Desc.IsMap() || f.Message != nil || pointer(f) || f.Desc.Kind() == protoreflect.BytesKind {
		g.P(v, " = nil")
	} else {
		g.P(v, " = ", zeroValue(f))
	}
	g.P("return nil")
	g.P("}")
	switch {
	case f.Desc.IsMap():
		key, val := f.Message.Fields[0], f.Message.Fields[1]
		g.P("if ", v, " == nil {")
		g.P(v, " = make(", w.goType(f), ")")
		g.P("}")
		g.P("err := d.object(func(mk []byte) error {")
		switch key.Desc.Kind() {
		case protoreflect.StringKind:
			g.P("k := string(mk)")
		case protoreflect.BoolKind:
			g.P("k, err := ", w.rtName("jsonMapKeyBool"), "(mk)")
			g.P("if err != nil {")
			g.P("return err")
			g.P("}")
		default:
			helper := "jsonMapKeyInt"
			if unsigned(key.Desc.Kind()) {
				helper = "jsonMapKeyUint"
			}
			if bitSize(key.Desc.Kind()) == 32 {
				g.P("k, err := ", w.rtName(helper+"32"), "(mk)")
			} else {
				g.P("k, err := ", w.rtName(helper), "(mk, 64)")
			}
			g.P("if err != nil {")
			g.P("return err")
			g.P("}")
		}
		g.P(v, "[k] = ", w.readValue(val, "return err"))
		g.P("return nil")
		g.P("})")
		g.P("if err != nil {")
		g.P("return d.in(", name, ", err)")
		g.P("}")
	case f.Desc.IsList():
		g.P("err := d.array(func() error {")
		val := w.readValue(f, "return err")
		g.P(v, " = append(", v, ", ", val, ")")
		g.P("return nil")
		g.P("})")
		g.P("if err != nil {")
		g.P("return d.in(", name, ", err)")
		g.P("}")
	default:
		val := w.readValue(f, "return d.in("+name+", err)")
		if pointer(f) {
			g.P("v := ", val)
			g.P(v, " = &v")
		} else {
			g.P(v, " = ", val)
		}
	}
}

// readValue writes the statements reading one value of f's type and
// returns the expression of the value. onErr is the statement run when
// reading fails, with the error in err.
func (w httpFile) readValue(f *protogen.Field, onErr string) string {
	g := w.g
	read := func(call, conv string) string {
		g.P("n, err := ", call)
		g.P("if err != nil {")
		g.P(onErr)
		g.P("}")
		if conv == "" {
			return "n"
		}
		return conv + "(n)"
	}
	switch f.Desc.Kind() {
	case protoreflect.StringKind:
		return read("d.string()", "")
	case protoreflect.BoolKind:
		return read("d.bool()", "")
	case protoreflect.BytesKind:
		return read("d.bytes()", "")
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return read("d.int32()", "")
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return read("d.int(64)", "")
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return read("d.uint32()", "")
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return read("d.uint(64)", "")
	case protoreflect.FloatKind:
		return read("d.float(32)", "float32")
	case protoreflect.DoubleKind:
		return read("d.float(64)", "")
	case protoreflect.EnumKind:
		values := g.QualifiedGoIdent(protogen.GoIdent{GoName: f.Enum.GoIdent.GoName + "_value", GoImportPath: f.Enum.GoIdent.GoImportPath})
		return read("d.enum("+values+")", g.QualifiedGoIdent(f.Enum.GoIdent))
	}
	typ := g.QualifiedGoIdent(f.Message.GoIdent)
	switch {
	case isTimestamp(f.Message):
		g.P("s, ns, err := d.timestamp()")
		g.P("if err != nil {")
		g.P(onErr)
		g.P("}")
		return "&" + typ + "{Seconds: s, Nanos: ns}"
	case f.Message.Desc.ParentFile().Path() == w.file.Desc.Path():
		g.P("m := new(", typ, ")")
		g.P("if err := m.decodeJSON(d); err != nil {")
		g.P(onErr)
		g.P("}")
		return "m"
	default:
		// Declared in another file, with its own copy of the runtime: hand
		// it the raw value.
		g.P("raw, err := d.raw()")
		g.P("if err != nil {")
		g.P(onErr)
		g.P("}")
		g.P("m := new(", typ, ")")
		g.P("if err := m.UnmarshalJSON(raw); err != nil {")
		g.P(onErr)
		g.P("}")
		return "m"
	}
}

func bitSize(k protoreflect.Kind) int {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.FloatKind, protoreflect.EnumKind:
		return 32
	}
	return 64
}

func zeroValue(f *protogen.Field) string {
	switch f.Desc.Kind() {
	case protoreflect.StringKind:
		return `""`
	case protoreflect.BoolKind:
		return "false"
	}
	return "0"
}

// goScalarType is the Go type of a scalar or enum field's values.
func (w httpFile) goScalarType(f *protogen.Field) string {
	switch f.Desc.Kind() {
	case protoreflect.StringKind:
		return "string"
	case protoreflect.BoolKind:
		return "bool"
	case protoreflect.BytesKind:
		return "[]byte"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return "int32"
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return "int64"
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return "uint32"
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return "uint64"
	case protoreflect.FloatKind:
		return "float32"
	case protoreflect.DoubleKind:
		return "float64"
	case protoreflect.EnumKind:
		return w.g.QualifiedGoIdent(f.Enum.GoIdent)
	}
	return "*" + w.g.QualifiedGoIdent(f.Message.GoIdent)
}

// goType is the Go type of a map field.
func (w httpFile) goType(f *protogen.Field) string {
	return "map[" + w.goScalarType(f.Message.Fields[0]) + "]" + w.goScalarType(f.Message.Fields[1])
}
