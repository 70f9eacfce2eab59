package protobuild

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// service writes Register<Service>HTTP, its options and its handlers.
func (w httpFile) service(hs httpService) {
	g := w.g
	s := hs.s
	strict := "Strict" + s.GoName + "Server"
	opts := s.GoName + "HTTPOptions"
	impl := unexport(s.GoName) + "HTTP"
	full := string(s.Desc.FullName())
	if w.httpOnly {
		w.strictServer(s)
	}

	g.P()
	g.P("// ", opts, " adjusts the HTTP handlers of the ", full, " service.")
	g.P("// The zero value is ready to use.")
	g.P("type ", opts, " struct {")
	g.P("// MaxBodyBytes bounds a request body; a larger one is answered with")
	g.P("// 413 Request Entity Too Large. Zero means 1 MiB.")
	g.P("MaxBodyBytes int64")
	g.P("// ErrorLog, when set, is called with every error a method returns that")
	if w.httpOnly {
		g.P("// carries no CanonicalCode and is not a context error. The client is told")
	} else {
		g.P("// is not a gRPC status error nor a context error. The client is told")
	}
	g.P("// only \"internal error\"; this is where the cause can be logged.")
	g.P("ErrorLog func(r *", httpPackage.Ident("Request"), ", err error)")
	g.P("// Override maps a method name, such as ", strconv.Quote(hs.bindings[0].method.GoName), ", to a handler that")
	g.P("// serves that method's routes instead of the generated one: a")
	g.P("// hand-written fast path keeps the route, its place in the OpenAPI")
	g.P("// document and the gRPC method, without a second ServeMux pattern.")
	g.P("// Register", s.GoName, "HTTP panics on a name with no HTTP binding.")
	g.P("Override map[string]", httpPackage.Ident("Handler"))
	g.P("}")

	g.P()
	g.P("// Register", s.GoName, "HTTP adds the HTTP/JSON bindings of the ", full, " service,")
	g.P("// its google.api.http options, to mux. Each route decodes the request,")
	g.P("// calls the same method of srv that gRPC calls, and writes the response as")
	g.P("// JSON, or an error as {\"error\": message, \"code\": \"NOT_FOUND\"} with the")
	g.P("// HTTP status of its gRPC code:")
	g.P("//")
	for _, b := range hs.bindings {
		g.P("//\t", b.pattern, " -> ", b.method.GoName)
	}
	g.P("func Register", s.GoName, "HTTP(mux *", httpPackage.Ident("ServeMux"), ", srv ", strict, ", opts ", opts, ") {")
	g.P("if opts.MaxBodyBytes <= 0 {")
	g.P("opts.MaxBodyBytes = 1 << 20")
	g.P("}")
	g.P("h := &", impl, "{srv: srv, opts: opts}")
	g.P("for name := range opts.Override {")
	g.P("switch name {")
	var names []string
	seen := map[string]bool{}
	for _, b := range hs.bindings {
		if !seen[b.method.GoName] {
			seen[b.method.GoName] = true
			names = append(names, strconv.Quote(b.method.GoName))
		}
	}
	g.P("case ", strings.Join(names, ", "), ":")
	g.P("default:")
	g.P("panic(\"Register", s.GoName, "HTTP: Override names \" + ", strconvPkg.Ident("Quote"), "(name) + \", which is not a method of ", full, " with an HTTP binding\")")
	g.P("}")
	g.P("}")
	for _, b := range hs.bindings {
		g.P("h.handle(mux, ", strconv.Quote(b.pattern), ", ", strconv.Quote(b.method.GoName), ", h.", b.handler, ")")
	}
	g.P("}")

	g.P()
	g.P("// handle adds to mux, at pattern, the Override of method or else")
	g.P("// generated.")
	g.P("func (h *", impl, ") handle(mux *", httpPackage.Ident("ServeMux"), ", pattern, method string, generated ", httpPackage.Ident("HandlerFunc"), ") {")
	g.P("if o := h.opts.Override[method]; o != nil {")
	g.P("mux.Handle(pattern, o)")
	g.P("return")
	g.P("}")
	g.P("mux.Handle(pattern, generated)")
	g.P("}")

	g.P()
	g.P("// ", impl, " serves the HTTP bindings of ", full, ".")
	g.P("type ", impl, " struct {")
	g.P("srv  ", strict)
	g.P("opts ", opts)
	g.P("}")

	// The codes the handlers answer themselves: gRPC's constants, or
	// without gRPC the numbers of google.rpc.Code they stand for.
	var canceled, deadline, internal string
	g.P()
	if w.httpOnly {
		canceled, deadline, internal = "1", "4", "13"
		g.P("// fail answers err: an error with a CanonicalCode method, found with")
		g.P("// errors.As, with the HTTP status of that google.rpc.Code (5 is NOT_FOUND)")
		g.P("// and its text; a context error as CANCELLED or DEADLINE_EXCEEDED; and")
		g.P("// anything else as INTERNAL without its text, which goes to ErrorLog.")
		g.P("func (h *", impl, ") fail(w ", httpPackage.Ident("ResponseWriter"), ", r *", httpPackage.Ident("Request"), ", err error) {")
		g.P("var coded interface {")
		g.P("error")
		g.P("CanonicalCode() uint32")
		g.P("}")
		g.P("if ", errorsPackage.Ident("As"), "(err, &coded) {")
		g.P(w.rtName("httpWriteError"), "(w, coded.CanonicalCode(), coded.Error())")
		g.P("return")
		g.P("}")
	} else {
		canceled = "uint32(" + g.QualifiedGoIdent(codesPackage.Ident("Canceled")) + ")"
		deadline = "uint32(" + g.QualifiedGoIdent(codesPackage.Ident("DeadlineExceeded")) + ")"
		internal = "uint32(" + g.QualifiedGoIdent(codesPackage.Ident("Internal")) + ")"
		g.P("// fail answers err: a gRPC status with the HTTP status of its code and")
		g.P("// its message, a context error as CANCELLED or DEADLINE_EXCEEDED, and")
		g.P("// anything else as INTERNAL without its text, which goes to ErrorLog.")
		g.P("func (h *", impl, ") fail(w ", httpPackage.Ident("ResponseWriter"), ", r *", httpPackage.Ident("Request"), ", err error) {")
		g.P("if st, ok := ", statusPackage.Ident("FromError"), "(err); ok {")
		g.P(w.rtName("httpWriteError"), "(w, uint32(st.Code()), st.Message())")
		g.P("return")
		g.P("}")
	}
	g.P("switch {")
	g.P("case ", errorsPackage.Ident("Is"), "(err, ", contextPackage.Ident("Canceled"), "):")
	g.P(w.rtName("httpWriteError"), "(w, ", canceled, ", \"request canceled\")")
	g.P("case ", errorsPackage.Ident("Is"), "(err, ", contextPackage.Ident("DeadlineExceeded"), "):")
	g.P(w.rtName("httpWriteError"), "(w, ", deadline, ", \"deadline exceeded\")")
	g.P("default:")
	g.P("if h.opts.ErrorLog != nil {")
	g.P("h.opts.ErrorLog(r, err)")
	g.P("}")
	g.P(w.rtName("httpWriteError"), "(w, ", internal, ", \"internal error\")")
	g.P("}")
	g.P("}")

	for _, b := range hs.bindings {
		w.handler(impl, b)
	}
}

// strictServer writes Strict<Service>Server, which the gRPC stubs declare
// when there are any: every method, with no default, so a method added to
// the service is a compile error naming it.
func (w httpFile) strictServer(s *protogen.Service) {
	sw := serviceWriter{g: w.g, file: w.file, s: s}
	g := w.g
	g.P()
	g.P("// ", sw.strictName(), " is the server API of the ", sw.fullName(), " service:")
	g.P("// every method, with no default. Register", s.GoName, "HTTP serves an")
	g.P("// implementation, so a method added to the service is a compile error")
	g.P("// naming it, instead of a route that is missing at run time.")
	if s.Comments.Leading != "" || sw.serviceDeprecated() {
		g.P("//")
		sw.comments(s.Comments, sw.serviceDeprecated())
	}
	g.P("type ", sw.strictName(), " interface {")
	for _, m := range s.Methods {
		sw.comments(m.Comments, methodDeprecated(m))
		g.P(sw.serverSignature(m))
	}
	g.P("}")
}

// handler writes the handler of one binding.
func (w httpFile) handler(impl string, b *binding) {
	g := w.g
	m := b.method
	in := g.QualifiedGoIdent(m.Input.GoIdent)
	invalid := "3" // INVALID_ARGUMENT
	if !w.httpOnly {
		invalid = "uint32(" + g.QualifiedGoIdent(codesPackage.Ident("InvalidArgument")) + ")"
	}
	g.P()
	g.P("// ", b.handler, " serves ", b.pattern, ".")
	g.P("func (h *", impl, ") ", b.handler, "(w ", httpPackage.Ident("ResponseWriter"), ", r *", httpPackage.Ident("Request"), ") {")
	g.P("in := new(", in, ")")
	if b.body != "" {
		g.P("body, ok := ", w.rtName("httpReadBody"), "(w, r, h.opts.MaxBodyBytes)")
		g.P("if !ok {")
		g.P("return")
		g.P("}")
		target := "in"
		if b.bodyField != nil {
			target = "in." + b.bodyField.GoName
			g.P(target, " = new(", b.bodyField.Message.GoIdent, ")")
		}
		g.P("if err := ", target, ".UnmarshalJSON(body); err != nil {")
		g.P(w.rtName("httpWriteError"), "(w, ", invalid, ", \"malformed JSON body: \"+err.Error())")
		g.P("return")
		g.P("}")
	}
	if len(b.pathFields) > 0 || b.body != "*" {
		g.P("if err := h.", b.handler, "Params(r, in); err != nil {")
		g.P(w.rtName("httpWriteError"), "(w, ", invalid, ", err.Error())")
		g.P("return")
		g.P("}")
	}
	g.P("out, err := h.srv.", m.GoName, "(r.Context(), in)")
	g.P("if err != nil {")
	g.P("h.fail(w, r, err)")
	g.P("return")
	g.P("}")
	if b.responseField != nil {
		g.P(w.rtName("httpWriteJSON"), "(w, ", httpPackage.Ident("StatusOK"), ", out.Get", b.responseField.GoName, "().AppendJSON)")
	} else {
		g.P(w.rtName("httpWriteJSON"), "(w, ", httpPackage.Ident("StatusOK"), ", out.AppendJSON)")
	}
	g.P("}")
	if len(b.pathFields) > 0 || b.body != "*" {
		w.params(impl, b)
	}
}

// params writes the method that sets the request fields bound by the path
// and, unless the body is "*", by query parameters. An unknown query
// parameter is an error, as an unknown JSON member is.
func (w httpFile) params(impl string, b *binding) {
	g := w.g
	g.P()
	g.P("// ", b.handler, "Params sets the fields of in that ", b.pattern, " binds")
	if b.body == "*" {
		g.P("// in its path.")
	} else {
		g.P("// in its path and query.")
	}
	g.P("func (h *", impl, ") ", b.handler, "Params(r *", httpPackage.Ident("Request"), ", in *", b.method.Input.GoIdent, ") error {")
	for _, f := range b.pathFields {
		name := string(f.Desc.Name())
		if f.Desc.Kind() == protoreflect.StringKind {
			w.setParam(f, strconv.Quote(name), "r.PathValue("+strconv.Quote(name)+")", "return err")
			continue
		}
		// A block each, so that each parse has its own n and err.
		g.P("{")
		w.setParam(f, strconv.Quote(name), "r.PathValue("+strconv.Quote(name)+")", "return err")
		g.P("}")
	}
	switch {
	case b.body == "*":
	case len(b.queryFields) == 0:
		g.P("if r.URL.RawQuery != \"\" {")
		g.P("return ", errorsPackage.Ident("New"), "(\"unexpected query \" + ", strconvPkg.Ident("Quote"), "(r.URL.RawQuery) + \"; this route takes no query parameters\")")
		g.P("}")
	default:
		g.P("if r.URL.RawQuery == \"\" {")
		g.P("return nil")
		g.P("}")
		g.P("query, err := ", urlPackage.Ident("ParseQuery"), "(r.URL.RawQuery)")
		g.P("if err != nil {")
		g.P("return err")
		g.P("}")
		g.P("for name, values := range query {")
		g.P("switch name {")
		for _, f := range b.queryFields {
			g.P("case ", quoteAll(jsonNames(f)), ":")
			switch {
			case f.Desc.IsList() && f.Desc.Kind() == protoreflect.StringKind:
				g.P("in.", f.GoName, " = append(in.", f.GoName, ", values...)")
			case f.Desc.IsList():
				g.P("for _, s := range values {")
				w.setParam(f, "name", "s", "return err")
				g.P("}")
			default:
				w.setParam(f, "name", "values[len(values)-1]", "return err")
			}
		}
		g.P("default:")
		g.P("return ", errorsPackage.Ident("New"), "(\"unknown query parameter \" + ", strconvPkg.Ident("Quote"), "(name))")
		g.P("}")
		g.P("}")
	}
	g.P("return nil")
	g.P("}")
}

// setParam writes the statements setting f from the string expression src;
// name is the expression of the parameter's name, for errors.
func (w httpFile) setParam(f *protogen.Field, name, src, onErr string) {
	g := w.g
	dst := "in." + f.GoName
	assign := func(val string) {
		switch {
		case f.Desc.IsList():
			g.P(dst, " = append(", dst, ", ", val, ")")
		case pointer(f):
			g.P("v := ", val)
			g.P(dst, " = &v")
		default:
			g.P(dst, " = ", val)
		}
	}
	parse := func(call, conv string) {
		g.P("n, err := ", call)
		g.P("if err != nil {")
		g.P(onErr)
		g.P("}")
		if conv == "" {
			assign("n")
		} else {
			assign(conv + "(n)")
		}
	}
	switch f.Desc.Kind() {
	case protoreflect.StringKind:
		assign(src)
	case protoreflect.BoolKind:
		parse(w.rtName("httpParseBool")+"("+name+", "+src+")", "")
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		parse(w.rtName("httpParseInt32")+"("+name+", "+src+")", "")
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		parse(w.rtName("httpParseInt")+"("+name+", "+src+", 64)", "")
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		parse(w.rtName("httpParseUint32")+"("+name+", "+src+")", "")
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		parse(w.rtName("httpParseUint")+"("+name+", "+src+", 64)", "")
	case protoreflect.FloatKind:
		parse(w.rtName("httpParseFloat")+"("+name+", "+src+", 32)", "float32")
	case protoreflect.DoubleKind:
		parse(w.rtName("httpParseFloat")+"("+name+", "+src+", 64)", "")
	case protoreflect.EnumKind:
		values := g.QualifiedGoIdent(protogen.GoIdent{GoName: f.Enum.GoIdent.GoName + "_value", GoImportPath: f.Enum.GoIdent.GoImportPath})
		parse(w.rtName("httpParseEnum")+"("+name+", "+src+", "+values+")", g.QualifiedGoIdent(f.Enum.GoIdent))
	}
}
