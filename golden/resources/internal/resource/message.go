package resource

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MaxTextLen bounds every string field of a message CheckFields checks,
// in characters.
const MaxTextLen = 1000

// CopyFields replaces the fields of dst that src's message declares, under
// the same name and type, by src's values: a field src has is set, one it
// leaves out is cleared, as a full replacement (PUT) means. Fields named in
// skip, and fields of dst that src does not declare (the ID and times a
// service sets), are left as they are. Values are shared, not copied.
//
// The resources added with perfgen add resource keep their .proto messages
// as they are, and copy a request into a record with CopyFields, so a field
// added to both messages in the .proto is kept and served with no Go edit.
func CopyFields(dst, src proto.Message, skip ...protoreflect.Name) {
	d, s := dst.ProtoReflect(), src.ProtoReflect()
	fields := s.Descriptor().Fields()
	for i := range fields.Len() {
		sf := fields.Get(i)
		if slices.Contains(skip, sf.Name()) {
			continue
		}
		df := d.Descriptor().Fields().ByName(sf.Name())
		if df == nil || !sameType(df, sf) {
			continue
		}
		d.Clear(df)
		if s.Has(sf) {
			d.Set(df, s.Get(sf))
		}
	}
}

// sameType reports whether a value of field b can be set in field a.
func sameType(a, b protoreflect.FieldDescriptor) bool {
	if a.Kind() != b.Kind() || a.Cardinality() != b.Cardinality() || a.IsMap() != b.IsMap() {
		return false
	}
	switch {
	case a.IsMap():
		return sameType(a.MapKey(), b.MapKey()) && sameType(a.MapValue(), b.MapValue())
	case a.Message() != nil:
		return a.Message().FullName() == b.Message().FullName()
	case a.Enum() != nil:
		return a.Enum().FullName() == b.Enum().FullName()
	}
	return true
}

// CheckFields reports the first value of m, at any depth, that some store
// could not keep or give back unchanged, so every store accepts and refuses
// the same requests: text that is not UTF-8, has a NUL byte (Postgres text
// refuses both) or is longer than MaxTextLen characters; a NaN or infinite
// number; a Timestamp outside years 1 to 9999. It checks every field,
// including fields added to the .proto after the resource was generated.
func CheckFields(m proto.Message) error {
	return checkMessage("", m.ProtoReflect())
}

func checkMessage(prefix string, m protoreflect.Message) error {
	if m.Descriptor().FullName() == "google.protobuf.Timestamp" {
		ts, ok := m.Interface().(*timestamppb.Timestamp)
		if ok {
			if err := ts.CheckValid(); err != nil {
				return fmt.Errorf("%s is not a time between years 1 and 9999", strings.TrimSuffix(prefix, "."))
			}
		}
		return nil
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		switch {
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				if err = checkValue(fmt.Sprintf("%s[%d]", name, i), fd, l.Get(i)); err != nil {
					return false
				}
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				key := fmt.Sprint(k.Interface())
				if err = checkValue(name+"[key]", fd.MapKey(), k.Value()); err == nil {
					err = checkValue(fmt.Sprintf("%s[%q]", name, key), fd.MapValue(), mv)
				}
				return err == nil
			})
		default:
			err = checkValue(name, fd, v)
		}
		return err == nil
	})
	return err
}

func checkValue(name string, fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch fd.Kind() {
	case protoreflect.StringKind:
		s := v.String()
		switch {
		case !utf8.ValidString(s):
			return fmt.Errorf("%s is not valid UTF-8", name)
		case strings.IndexByte(s, 0) >= 0:
			return fmt.Errorf("%s contains a NUL byte", name)
		case utf8.RuneCountInString(s) > MaxTextLen:
			return fmt.Errorf("%s is longer than %d characters", name, MaxTextLen)
		}
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s must be a finite number", name)
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return checkMessage(name+".", v.Message())
	}
	return nil
}
