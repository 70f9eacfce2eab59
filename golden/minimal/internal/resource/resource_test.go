package resource_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"example.com/minimal/internal/resource"
)

func TestErrorValuesMatchTheirKind(t *testing.T) {
	errThing := resource.NotFound("thing not found")
	wrapped := fmt.Errorf("get thing: %w", errThing)
	if !errors.Is(wrapped, errThing) || !errors.Is(wrapped, resource.ErrNotFound) {
		t.Fatalf("%v matches neither its own value nor ErrNotFound", wrapped)
	}
	if errors.Is(wrapped, resource.ErrInvalid) || errors.Is(resource.NotFound("other"), errThing) {
		t.Fatal("an error matches a kind or value it is not")
	}
	if errThing.Error() != "thing not found" {
		t.Fatalf("Error() = %q, want the resource's own message", errThing.Error())
	}
	for _, tt := range []struct {
		err  error
		kind error
	}{
		{resource.Invalid("x"), resource.ErrInvalid},
		{resource.Unavailable("x"), resource.ErrUnavailable},
	} {
		if !errors.Is(tt.err, tt.kind) {
			t.Errorf("%v does not match %v", tt.err, tt.kind)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, key := range []string{"0123456789abcdef0123456789abcdef", "a/b?c=d&e", "é"} {
		got, err := resource.DecodeCursor(resource.EncodeCursor(key))
		if err != nil || got != key {
			t.Errorf("DecodeCursor(EncodeCursor(%q)) = %q, %v", key, got, err)
		}
	}
	if key, err := resource.DecodeCursor(""); key != "" || err != nil {
		t.Errorf(`DecodeCursor("") = %q, %v; want the first page`, key, err)
	}
	for _, bad := range []string{"!!", "a"} {
		if _, err := resource.DecodeCursor(bad); !errors.Is(err, resource.ErrInvalid) {
			t.Errorf("DecodeCursor(%q) err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestNextCursor(t *testing.T) {
	if c := resource.NextCursor(3, 3, "k"); c != resource.EncodeCursor("k") {
		t.Errorf("full page: NextCursor = %q, want the cursor after its last key", c)
	}
	if c := resource.NextCursor(2, 3, "k"); c != "" {
		t.Errorf("short page: NextCursor = %q, want none", c)
	}
	if c := resource.NextCursor(0, 0, ""); c != "" {
		t.Errorf("empty page: NextCursor = %q, want none", c)
	}
}

func TestPageSizes(t *testing.T) {
	for _, tt := range []struct {
		n, want int
		ok      bool
	}{
		{0, 100, true}, {1, 1, true}, {100, 100, true}, {101, 100, true}, {-1, 0, false},
	} {
		got, err := resource.PageSize(tt.n, 100)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("PageSize(%d) = %d, %v; want %d, ok %t", tt.n, got, err, tt.want, tt.ok)
		}
	}
}

func TestStatusCodesEveryKind(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		err  error
		code uint32
		msg  string
	}{
		{resource.Invalid("bad thing"), 3, "bad thing"},
		{fmt.Errorf("get: %w", resource.NotFound("thing not found")), 5, "get: thing not found"},
		{resource.Unavailable("store down"), 14, "service temporarily unavailable; retry"},
		{context.DeadlineExceeded, 4, "deadline exceeded"},
		{context.Canceled, 1, "request canceled"},
		{errors.New("disk on fire"), 13, "internal error"},
	} {
		var coded interface {
			error
			CanonicalCode() uint32
		}
		if err := resource.Status(context.Background(), log, tt.err); !errors.As(err, &coded) || coded.CanonicalCode() != tt.code || coded.Error() != tt.msg {
			t.Errorf("Status(%v) = %v; want code %d and %q", tt.err, err, tt.code, tt.msg)
		}
	}
}

func TestEncodedIsNewlineTerminatedJSON(t *testing.T) {
	e, err := resource.Encode(struct {
		ID string `json:"id"`
	}{ID: "a"})
	if err != nil || string(e.JSON) != "{\"id\":\"a\"}\n" || e.Value.ID != "a" {
		t.Fatalf("Encode = %q (%+v), %v", e.JSON, e.Value, err)
	}
	if e.Size() <= int64(len(e.JSON)) {
		t.Fatalf("Size() = %d, less than the encoding alone", e.Size())
	}
}

func TestSetClosesInReverseOrder(t *testing.T) {
	set := resource.NewSet(resource.Deps{})
	var closed []string
	set.OnClose(func() { closed = append(closed, "store") })
	set.OnClose(func() { closed = append(closed, "cache") })
	set.Add(resource.Resource{Name: "a"})
	set.Add(resource.Resource{Name: "b"})
	if rs := set.Resources(); len(rs) != 2 || rs[0].Name != "a" || rs[1].Name != "b" {
		t.Fatalf("Resources() = %+v, want a and b in the order added", rs)
	}
	set.Close()
	set.Close() // a second Close releases nothing twice
	if fmt.Sprint(closed) != "[cache store]" {
		t.Fatalf("closed %v, want [cache store]: the cache before the store it reads", closed)
	}
}

func TestStoreContextBoundsOnlyWhenItWouldFireFirst(t *testing.T) {
	ctx, cancel := resource.StoreContext(context.Background(), time.Minute)
	defer cancel()
	if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > time.Minute {
		t.Fatalf("deadline %v, %t: want one within a minute", deadline, ok)
	}

	parent, cancelParent := context.WithTimeout(context.Background(), time.Second)
	defer cancelParent()
	for _, timeout := range []time.Duration{0, time.Minute} {
		ctx, cancel := resource.StoreContext(parent, timeout)
		if ctx != parent {
			t.Errorf("timeout %v: derived a context although none could end sooner than its parent", timeout)
		}
		cancel()
		if parent.Err() != nil {
			t.Fatalf("timeout %v: releasing an underived context canceled its parent", timeout)
		}
	}
}
