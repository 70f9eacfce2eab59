package resource_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/apipb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"example.com/shop/internal/resource"
)

func TestCopyFieldsReplacesTheFieldsBothDeclare(t *testing.T) {
	dst := &apipb.Method{Name: "old", RequestTypeUrl: "kept"}
	resource.CopyFields(dst, &apipb.Mixin{Name: "new", Root: "not in Method"})
	if dst.GetName() != "new" || dst.GetRequestTypeUrl() != "kept" {
		t.Fatalf("CopyFields = %v; want name replaced and request_type_url kept", dst)
	}
	// A field src leaves out is cleared: a full replacement.
	resource.CopyFields(dst, &apipb.Mixin{})
	if dst.GetName() != "" {
		t.Fatalf("CopyFields from an empty message left name %q", dst.GetName())
	}
	resource.CopyFields(dst, &apipb.Mixin{Name: "skipped"}, "name")
	if dst.GetName() != "" {
		t.Fatalf("CopyFields set name %q, which it was told to skip", dst.GetName())
	}
}

func TestCheckFields(t *testing.T) {
	nested := func(s string) *structpb.Struct {
		return &structpb.Struct{Fields: map[string]*structpb.Value{"k": structpb.NewStringValue(s)}}
	}
	for name, tt := range map[string]struct {
		err  error
		want bool
	}{
		"plain text":         {resource.CheckFields(wrapperspb.String("héllo")), true},
		"NUL byte":           {resource.CheckFields(wrapperspb.String("a\x00b")), false},
		"not UTF-8":          {resource.CheckFields(wrapperspb.String("\xff")), false},
		"too long":           {resource.CheckFields(wrapperspb.String(strings.Repeat("é", resource.MaxTextLen+1))), false},
		"finite number":      {resource.CheckFields(wrapperspb.Double(2.5)), true},
		"NaN":                {resource.CheckFields(wrapperspb.Double(math.NaN())), false},
		"infinity":           {resource.CheckFields(wrapperspb.Double(math.Inf(1))), false},
		"time":               {resource.CheckFields(timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))), true},
		"time after 9999":    {resource.CheckFields(timestamppb.New(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))), false},
		"nested text":        {resource.CheckFields(nested("fine")), true},
		"NUL in a map value": {resource.CheckFields(nested("a\x00")), false},
	} {
		if (tt.err == nil) != tt.want {
			t.Errorf("%s: CheckFields = %v, want ok %t", name, tt.err, tt.want)
		}
	}
}
