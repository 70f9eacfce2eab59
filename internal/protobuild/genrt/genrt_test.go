package genrt

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendScalars(t *testing.T) {
	tests := []struct{ got, want string }{
		{string(jsonAppendString(nil, "a\"b\\c\n\t\r\x01é😀<>")), `"a\"b\\c\n\t\r\u0001é😀<>"`},
		{string(jsonAppendString(nil, "bad\xffutf8")), `"bad\ufffdutf8"`},
		{string(jsonAppendQuotedInt(nil, math.MinInt64)), `"-9223372036854775808"`},
		{string(jsonAppendQuotedUint(nil, math.MaxUint64)), `"18446744073709551615"`},
		{string(jsonAppendFloat(nil, math.NaN(), 64)), `"NaN"`},
		{string(jsonAppendFloat(nil, math.Inf(-1), 64)), `"-Infinity"`},
		{string(jsonAppendFloat(nil, 1e21, 64)), `1e+21`},
		{string(jsonAppendFloat(nil, 0.1, 32)), `0.1`},
		{string(jsonAppendBytes(nil, []byte("hi?"))), `"aGk/"`},
		{string(jsonAppendTimestamp(nil, 0, 0)), `"1970-01-01T00:00:00Z"`},
		{string(jsonAppendTimestamp(nil, 1, 500_000_000)), `"1970-01-01T00:00:01.500Z"`},
		{string(jsonAppendTimestamp(nil, 1, 1_000)), `"1970-01-01T00:00:01.000001Z"`},
		{string(jsonAppendTimestamp(nil, -1, 7)), `"1969-12-31T23:59:59.000000007Z"`},
		{string(jsonAppendEnum(nil, 1, map[int32]string{1: "ONE"})), `"ONE"`},
		{string(jsonAppendEnum(nil, 9, map[int32]string{1: "ONE"})), `9`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.got)
	}
}

func TestDecoder(t *testing.T) {
	d := &jsonDecoder{data: []byte(` {"s":"a\u00e9\ud83d\ude00","i":"-12","u":3e2,"f":"Infinity","b":true,"raw":[1,{"x":null}],"e":"ONE","t":"2026-01-02T03:04:05.5+01:00","bytes":"aGk","n":null} `)}
	seen := map[string]any{}
	err := d.object(func(key []byte) error {
		var v any
		var err error
		switch string(key) {
		case "s":
			v, err = d.string()
		case "i":
			v, err = d.int(32)
		case "u":
			v, err = d.uint(64)
		case "f":
			v, err = d.float(64)
		case "b":
			v, err = d.bool()
		case "raw":
			var raw []byte
			raw, err = d.raw()
			v = string(raw)
		case "e":
			v, err = d.enum(map[string]int32{"ONE": 1})
		case "t":
			var s int64
			var ns int32
			s, ns, err = d.timestamp()
			v = [2]int64{s, int64(ns)}
		case "bytes":
			var b []byte
			b, err = d.bytes()
			v = string(b)
		case "n":
			v = d.null()
		default:
			return d.unknown(key)
		}
		seen[string(key)] = v
		return err
	})
	require.NoError(t, err)
	require.NoError(t, d.end())
	assert.Equal(t, map[string]any{
		"s": "aé😀", "i": int64(-12), "u": uint64(300), "f": math.Inf(1), "b": true,
		"raw": `[1,{"x":null}]`, "e": int32(1), "t": [2]int64{1767319445, 500_000_000}, "bytes": "hi", "n": true,
	}, seen)
}

func TestDecoderErrors(t *testing.T) {
	tests := []struct {
		in   string
		read func(d *jsonDecoder) error
		want string
	}{
		{`"a`, func(d *jsonDecoder) error { _, err := d.string(); return err }, "unterminated string"},
		{"\"\xff\"", func(d *jsonDecoder) error { _, err := d.string(); return err }, "not valid UTF-8"},
		{`"\ud83d"`, func(d *jsonDecoder) error { _, err := d.string(); return err }, "invalid surrogate pair"},
		{`01`, func(d *jsonDecoder) error { _, err := d.int(64); return err }, "want a number"},
		{`1.5`, func(d *jsonDecoder) error { _, err := d.int(64); return err }, `"1.5" is not a 64-bit integer`},
		{`-1`, func(d *jsonDecoder) error { _, err := d.uint(32); return err }, "is not an unsigned 32-bit integer"},
		{`"1 "`, func(d *jsonDecoder) error { _, err := d.float(64); return err }, "is not a 64-bit float"},
		{`NaN`, func(d *jsonDecoder) error { _, err := d.float(64); return err }, "want a number"},
		{`"TWO"`, func(d *jsonDecoder) error { _, err := d.enum(map[string]int32{}); return err }, `"TWO" is not a value of the enum`},
		{`"2026-13-01T00:00:00Z"`, func(d *jsonDecoder) error { _, _, err := d.timestamp(); return err }, "is not an RFC 3339 time"},
		{`{"a":1,}`, func(d *jsonDecoder) error { return d.object(func([]byte) error { return d.skip() }) }, "want a quoted member name"},
		{strings.Repeat("[", jsonMaxDepth+1), func(d *jsonDecoder) error { return d.skip() }, "nested too deeply"},
		{`{"zz":1}`, func(d *jsonDecoder) error { return d.object(d.unknown) }, `unknown field "zz"`},
	}
	for _, tt := range tests {
		err := tt.read(&jsonDecoder{data: []byte(tt.in)})
		if assert.Error(t, err, tt.in) {
			assert.Contains(t, err.Error(), tt.want, tt.in)
		}
	}
	d := &jsonDecoder{}
	err := d.in("outer", d.in("inner", d.errorf("bad")))
	assert.Equal(t, "field outer.inner: bad at offset 0", err.Error())
	_, err = jsonMapKeyInt([]byte("x"), 32)
	assert.EqualError(t, err, `map key "x" is not a 32-bit integer`)
	_, err = jsonMapKeyUint([]byte("-1"), 64)
	assert.Error(t, err)
	_, err = jsonMapKeyBool([]byte("yes"))
	assert.Error(t, err)
}

func TestHTTPHelpers(t *testing.T) {
	status, name := httpStatus(5)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, "NOT_FOUND", name)
	status, name = httpStatus(99)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Equal(t, "UNKNOWN", name)

	rec := httptest.NewRecorder()
	httpWriteError(rec, 14, `try "later"`)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, `{"error":"try \"later\"","code":"UNAVAILABLE"}`, rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, strconv.Itoa(rec.Body.Len()), rec.Header().Get("Content-Length"))
	assert.Equal(t, "1", rec.Header().Get("Retry-After"), "UNAVAILABLE says when to retry")
	rec = httptest.NewRecorder()
	rec.Header().Set("Retry-After", "5")
	httpWriteError(rec, 14, "later")
	assert.Equal(t, "5", rec.Header().Get("Retry-After"), "a Retry-After the handler set is kept")
	rec = httptest.NewRecorder()
	httpWriteError(rec, 5, "missing")
	assert.Empty(t, rec.Header().Get("Retry-After"), "only 503s carry Retry-After")

	rec = httptest.NewRecorder()
	body, ok := httpReadBody(rec, httptest.NewRequest("POST", "/", strings.NewReader("12345")), 5)
	assert.True(t, ok)
	assert.Equal(t, "12345", string(body))
	req := httptest.NewRequest("POST", "/", strings.NewReader("123456"))
	req.ContentLength = -1
	_, ok = httpReadBody(rec, req, 5)
	assert.False(t, ok)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, "close", rec.Header().Get("Connection"))
	assert.Contains(t, rec.Body.String(), `"code":"RESOURCE_EXHAUSTED"`)

	n, err := httpParseInt("n", "-3", 32)
	assert.NoError(t, err)
	assert.Equal(t, int64(-3), n)
	_, err = httpParseInt("n", "x", 32)
	assert.EqualError(t, err, `parameter "n": "x" is not a 32-bit integer`)
	u, err := httpParseUint("u", "7", 64)
	assert.NoError(t, err)
	assert.Equal(t, uint64(7), u)
	f, err := httpParseFloat("f", "NaN", 64)
	assert.NoError(t, err)
	assert.True(t, math.IsNaN(f))
	_, err = httpParseFloat("f", "0x10", 64)
	assert.Error(t, err)
	b, err := httpParseBool("b", "1")
	assert.NoError(t, err)
	assert.True(t, b)
	_, err = httpParseBool("b", "yes")
	assert.Error(t, err)
	e, err := httpParseEnum("e", "TWO", map[string]int32{"TWO": 2})
	assert.NoError(t, err)
	assert.Equal(t, int32(2), e)
	_, err = httpParseEnum("e", "THREE", nil)
	assert.Error(t, err)
}
