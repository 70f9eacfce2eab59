// Package genrt is the runtime of the HTTP/JSON code perfgen generates: the
// proto3 JSON scanner and writers, and the HTTP error and body helpers.
//
// It is not imported by generated code. protobuild embeds this package's
// source and copies the declarations a Go package's <name>_http.pb.go files
// use into one file beside them, http_runtime.pb.go, so a generated project
// depends on no perfgen package at run time. It is a real package so that
// the copy is compiled, vetted and tested here. Every top-level name starts
// with "json" or "http", which no name protoc-gen-go or protoc-gen-go-grpc
// declares does (they declare exported names and file_* variables).
package genrt

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

const jsonHex = "0123456789abcdef"

// jsonAppendString appends s as a JSON string. Invalid UTF-8 is written as
// U+FFFD, as encoding/json does.
func jsonAppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonAppendQuotedInt appends a 64-bit integer as a JSON string, as proto3
// JSON writes them: JavaScript numbers lose precision past 2^53.
func jsonAppendQuotedInt(b []byte, v int64) []byte {
	b = append(b, '"')
	b = strconv.AppendInt(b, v, 10)
	return append(b, '"')
}

// jsonAppendQuotedUint is jsonAppendQuotedInt for unsigned integers.
func jsonAppendQuotedUint(b []byte, v uint64) []byte {
	b = append(b, '"')
	b = strconv.AppendUint(b, v, 10)
	return append(b, '"')
}

// jsonAppendFloat appends f, a float of the given bit size, as a JSON
// number, or as the strings "NaN", "Infinity" and "-Infinity" that proto3
// JSON uses for the values JSON has no number for.
func jsonAppendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, bits)
}

// jsonAppendBytes appends v as a base64 JSON string (standard alphabet,
// padded).
func jsonAppendBytes(b []byte, v []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

// jsonAppendTimestamp appends a google.protobuf.Timestamp as an RFC 3339
// string in UTC, with 0, 3, 6 or 9 fractional digits, as protojson does.
func jsonAppendTimestamp(b []byte, seconds int64, nanos int32) []byte {
	b = time.Unix(seconds, 0).UTC().AppendFormat(append(b, '"'), "2006-01-02T15:04:05")
	if nanos != 0 {
		digits := 9
		switch {
		case nanos%1e6 == 0:
			digits = 3
		case nanos%1e3 == 0:
			digits = 6
		}
		var frac [9]byte
		for i, n := 8, nanos; i >= 0; i-- {
			frac[i] = '0' + byte(n%10) // #nosec G115 -- a digit, 0 to 9
			n /= 10
		}
		b = append(append(b, '.'), frac[:digits]...)
	}
	return append(b, 'Z', '"')
}

// jsonError is a request body that is not the JSON of the message it should
// be. Its text names the field and says why; it is safe to show to the
// client.
type jsonError struct {
	// field is the dotted path of the field being read, outermost first.
	field string
	msg   string
}

func (e *jsonError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return "field " + e.field + ": " + e.msg
}

// jsonMaxDepth bounds how deeply objects and arrays nest, so a hostile body
// cannot exhaust the stack.
const jsonMaxDepth = 100

// jsonDecoder reads one proto3 JSON value from data. Generated decodeJSON
// methods drive it field by field; it allocates only for the strings and
// byte slices it returns.
type jsonDecoder struct {
	data  []byte
	pos   int
	depth int
}

func (d *jsonDecoder) errorf(format string, args ...any) error {
	return &jsonError{msg: jsonSprintf(format, args...) + " at offset " + strconv.Itoa(d.pos)}
}

// in adds the name of the field being read to err, on its way out. An
// error from a message decoded by another file's code is wrapped.
func (d *jsonDecoder) in(field string, err error) error {
	je, ok := err.(*jsonError)
	if !ok {
		return &jsonError{field: field, msg: err.Error()}
	}
	if je.field == "" {
		je.field = field
	} else {
		je.field = field + "." + je.field
	}
	return err
}

// jsonSprintf is a tiny %s/%q formatter for string arguments, so the
// runtime does not import fmt for its error messages.
func jsonSprintf(format string, args ...any) string {
	var b []byte
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) || len(args) == 0 {
			b = append(b, format[i])
			continue
		}
		i++
		s, _ := args[0].(string)
		args = args[1:]
		if format[i] == 'q' {
			b = strconv.AppendQuote(b, s)
		} else {
			b = append(b, s...)
		}
	}
	return string(b)
}

func (d *jsonDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *jsonDecoder) peek() byte {
	d.skipSpace()
	if d.pos == len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

// null consumes a null and reports whether there was one. A null value
// leaves a field at its default, as proto3 JSON says.
func (d *jsonDecoder) null() bool {
	if d.peek() == 'n' && len(d.data)-d.pos >= 4 && string(d.data[d.pos:d.pos+4]) == "null" {
		d.pos += 4
		return true
	}
	return false
}

// end checks that nothing but white space follows the value.
func (d *jsonDecoder) end() error {
	if d.peek() != 0 {
		return d.errorf("unexpected data after the JSON value")
	}
	return nil
}

// object reads a JSON object, calling field for each member with the
// decoder positioned at its value. The key is valid until field returns.
func (d *jsonDecoder) object(field func(key []byte) error) error {
	if d.peek() != '{' {
		return d.errorf("want a JSON object")
	}
	if d.depth++; d.depth > jsonMaxDepth {
		return d.errorf("nested too deeply")
	}
	defer func() { d.depth-- }()
	d.pos++
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.errorf("want a quoted member name")
		}
		key, err := d.rawString()
		if err != nil {
			return err
		}
		if d.peek() != ':' {
			return d.errorf("want ':' after a member name")
		}
		d.pos++
		if err := field(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.errorf("want ',' or '}' after an object member")
		}
	}
}

// array reads a JSON array, calling elem with the decoder positioned at
// each element.
func (d *jsonDecoder) array(elem func() error) error {
	if d.peek() != '[' {
		return d.errorf("want a JSON array")
	}
	if d.depth++; d.depth > jsonMaxDepth {
		return d.errorf("nested too deeply")
	}
	defer func() { d.depth-- }()
	d.pos++
	if d.peek() == ']' {
		d.pos++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return nil
		default:
			return d.errorf("want ',' or ']' after an array element")
		}
	}
}

// raw reads any JSON value and returns its text, for a message whose
// decoder is generated in another file.
func (d *jsonDecoder) raw() ([]byte, error) {
	start := d.pos
	d.skipSpace()
	if err := d.skip(); err != nil {
		return nil, err
	}
	return d.data[start:d.pos], nil
}

// skip reads any JSON value.
func (d *jsonDecoder) skip() error {
	var err error
	switch d.peek() {
	case '{':
		err = d.object(func([]byte) error { return d.skip() })
	case '[':
		err = d.array(d.skip)
	case '"':
		_, err = d.rawString()
	case 't', 'f':
		_, err = d.bool()
	case 'n':
		if !d.null() {
			err = d.errorf("want a JSON value")
		}
	default:
		_, err = d.number()
	}
	return err
}

// jsonAppendEnum appends an enum value as its name, or as its number when
// it has none (a value added to the enum after this code was generated).
func jsonAppendEnum(b []byte, v int32, names map[int32]string) []byte {
	if name, ok := names[v]; ok {
		return jsonAppendString(b, name)
	}
	return strconv.AppendInt(b, int64(v), 10)
}

// unknown is the error for a member the message does not have. Unknown
// fields are rejected, not skipped: a misspelt field would otherwise be
// dropped without a word.
func (d *jsonDecoder) unknown(key []byte) error {
	return d.errorf("unknown field %q", string(key))
}

// rawString reads a JSON string and returns its decoded bytes, which alias
// data when the string has no escapes. It rejects invalid UTF-8 and
// unescaped control characters.
func (d *jsonDecoder) rawString() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.errorf("want a JSON string")
	}
	d.pos++
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			s := d.data[start:d.pos]
			d.pos++
			if !utf8.Valid(s) {
				return nil, d.errorf("string is not valid UTF-8")
			}
			return s, nil
		case c == '\\':
			return d.escapedString(start)
		case c < 0x20:
			return nil, d.errorf("control character in a string")
		}
		d.pos++
	}
	return nil, d.errorf("unterminated string")
}

// escapedString finishes a string from start, where the first escape is at
// d.pos, decoding into a new slice.
func (d *jsonDecoder) escapedString(start int) ([]byte, error) {
	out := make([]byte, 0, d.pos-start+16)
	out = append(out, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !utf8.Valid(out) {
				return nil, d.errorf("string is not valid UTF-8")
			}
			return out, nil
		case c < 0x20:
			return nil, d.errorf("control character in a string")
		case c != '\\':
			out = append(out, c)
			d.pos++
			continue
		}
		if d.pos+1 == len(d.data) {
			break
		}
		e := d.data[d.pos+1]
		d.pos += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, d.errorf(`invalid \u escape`)
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
					d.pos += 2
					if low, ok := d.hex4(); ok {
						r2 = low
					}
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return nil, d.errorf("invalid surrogate pair in a string")
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, d.errorf("invalid escape in a string")
		}
	}
	return nil, d.errorf("unterminated string")
}

func (d *jsonDecoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.pos += 4
	return r, true
}

// string reads a JSON string.
func (d *jsonDecoder) string() (string, error) {
	s, err := d.rawString()
	return string(s), err
}

// bool reads true or false.
func (d *jsonDecoder) bool() (bool, error) {
	switch d.peek() {
	case 't':
		if len(d.data)-d.pos >= 4 && string(d.data[d.pos:d.pos+4]) == "true" {
			d.pos += 4
			return true, nil
		}
	case 'f':
		if len(d.data)-d.pos >= 5 && string(d.data[d.pos:d.pos+5]) == "false" {
			d.pos += 5
			return false, nil
		}
	}
	return false, d.errorf("want true or false")
}

// number reads a JSON number token, or the contents of a JSON string when
// quoted is allowed and the value is one: proto3 JSON accepts integers and
// floats either way.
func (d *jsonDecoder) number() ([]byte, error) {
	if d.peek() == '"' {
		return d.rawString()
	}
	start := d.pos
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		d.pos++
	}
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	intStart := d.pos
	if n := digits(); n == 0 || (n > 1 && d.data[intStart] == '0') {
		d.pos = start
		return nil, d.errorf("want a number")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return nil, d.errorf("want digits after the decimal point")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return nil, d.errorf("want digits in the exponent")
		}
	}
	return d.data[start:d.pos], nil
}

// int reads an integer of the given bit size, written as a number or a
// string. A number with a fraction or exponent is accepted when its value
// is a whole number in range.
func (d *jsonDecoder) int(bits int) (int64, error) {
	quoted := d.peek() == '"'
	tok, err := d.number()
	if err != nil {
		return 0, err
	}
	if quoted && !jsonIsNumber(tok) {
		return 0, d.errorf("%q is not a %s-bit integer", string(tok), strconv.Itoa(bits))
	}
	if v, err := strconv.ParseInt(string(tok), 10, bits); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	limit := math.Ldexp(1, bits-1)
	if err != nil || f != math.Trunc(f) || f < -limit || f >= limit {
		return 0, d.errorf("%q is not a %s-bit integer", string(tok), strconv.Itoa(bits))
	}
	return int64(f), nil
}

// int32 reads a 32-bit integer.
func (d *jsonDecoder) int32() (int32, error) {
	v, err := d.int(32)
	return int32(v), err // #nosec G115 -- int checked the range
}

// uint32 reads a 32-bit unsigned integer.
func (d *jsonDecoder) uint32() (uint32, error) {
	v, err := d.uint(32)
	return uint32(v), err // #nosec G115 -- uint checked the range
}

// uint reads an unsigned integer of the given bit size, written as a
// number or a string.
func (d *jsonDecoder) uint(bits int) (uint64, error) {
	quoted := d.peek() == '"'
	tok, err := d.number()
	if err != nil {
		return 0, err
	}
	if quoted && !jsonIsNumber(tok) {
		return 0, d.errorf("%q is not an unsigned %s-bit integer", string(tok), strconv.Itoa(bits))
	}
	if v, err := strconv.ParseUint(string(tok), 10, bits); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= math.Ldexp(1, bits) {
		return 0, d.errorf("%q is not an unsigned %s-bit integer", string(tok), strconv.Itoa(bits))
	}
	return uint64(f), nil
}

// float reads a float of the given bit size: a number, a number in a
// string, or "NaN", "Infinity" or "-Infinity".
func (d *jsonDecoder) float(bits int) (float64, error) {
	quoted := d.peek() == '"'
	tok, err := d.number()
	if err != nil {
		return 0, err
	}
	switch string(tok) {
	case "NaN":
		if quoted {
			return math.NaN(), nil
		}
	case "Infinity":
		if quoted {
			return math.Inf(1), nil
		}
	case "-Infinity":
		if quoted {
			return math.Inf(-1), nil
		}
	}
	f, err := strconv.ParseFloat(string(tok), bits)
	if err != nil || (quoted && !jsonIsNumber(tok)) {
		return 0, d.errorf("%q is not a %s-bit float", string(tok), strconv.Itoa(bits))
	}
	return f, nil
}

// jsonIsNumber reports whether s is a JSON number, so a quoted float
// cannot use Go-only syntax such as "0x1p3" or "inf".
func jsonIsNumber(s []byte) bool {
	d := jsonDecoder{data: s}
	if len(s) == 0 || s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r' {
		return false
	}
	_, err := d.number()
	return err == nil && d.pos == len(s)
}

// bytes reads a base64 string, standard or URL alphabet, padded or not.
func (d *jsonDecoder) bytes() ([]byte, error) {
	s, err := d.rawString()
	if err != nil {
		return nil, err
	}
	enc := base64.StdEncoding
	for _, c := range s {
		if c == '-' || c == '_' {
			enc = base64.URLEncoding
			break
		}
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		return nil, d.errorf("not base64: %s", err.Error())
	}
	return out[:n], nil
}

// enum reads an enum value: its name, or its number.
func (d *jsonDecoder) enum(values map[string]int32) (int32, error) {
	if d.peek() == '"' {
		s, err := d.rawString()
		if err != nil {
			return 0, err
		}
		if v, ok := values[string(s)]; ok {
			return v, nil
		}
		return 0, d.errorf("%q is not a value of the enum", string(s))
	}
	v, err := d.int(32)
	return int32(v), err // #nosec G115 -- int checked the range
}

// timestamp reads an RFC 3339 time as the seconds and nanoseconds of a
// google.protobuf.Timestamp.
func (d *jsonDecoder) timestamp() (int64, int32, error) {
	s, err := d.rawString()
	if err != nil {
		return 0, 0, err
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return 0, 0, d.errorf("%q is not an RFC 3339 time", string(s))
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return 0, 0, d.errorf("%q is outside years 1 to 9999", string(s))
	}
	return t.Unix(), int32(t.Nanosecond()), nil // #nosec G115 -- below 1e9
}

// jsonMapKeyInt parses a map key of an integer type.
func jsonMapKeyInt(key []byte, bits int) (int64, error) {
	v, err := strconv.ParseInt(string(key), 10, bits)
	if err != nil {
		return 0, &jsonError{msg: "map key " + strconv.Quote(string(key)) + " is not a " + strconv.Itoa(bits) + "-bit integer"}
	}
	return v, nil
}

// jsonMapKeyUint parses a map key of an unsigned integer type.
func jsonMapKeyUint(key []byte, bits int) (uint64, error) {
	v, err := strconv.ParseUint(string(key), 10, bits)
	if err != nil {
		return 0, &jsonError{msg: "map key " + strconv.Quote(string(key)) + " is not an unsigned " + strconv.Itoa(bits) + "-bit integer"}
	}
	return v, nil
}

// jsonMapKeyInt32 parses a map key of a 32-bit integer type.
func jsonMapKeyInt32(key []byte) (int32, error) {
	v, err := jsonMapKeyInt(key, 32)
	return int32(v), err // #nosec G115 -- ParseInt checked the range
}

// jsonMapKeyUint32 parses a map key of a 32-bit unsigned integer type.
func jsonMapKeyUint32(key []byte) (uint32, error) {
	v, err := jsonMapKeyUint(key, 32)
	return uint32(v), err // #nosec G115 -- ParseUint checked the range
}

// jsonMapKeyBool parses a map key of type bool.
func jsonMapKeyBool(key []byte) (bool, error) {
	switch string(key) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &jsonError{msg: "map key " + strconv.Quote(string(key)) + " is not true or false"}
}
