package resource_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/resource"
)

// countingLoad returns "v<n>" for the nth load.
type countingLoad struct{ n int }

func (l *countingLoad) load(context.Context, string) (string, error) {
	l.n++
	return "v" + strconv.Itoa(l.n), nil
}

func TestCacheAsideLoadsOnceUntilInvalidated(t *testing.T) {
	c, err := cache.New(cache.Options[string]{MaxEntries: 10, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := &countingLoad{}
	reads := resource.NewCacheAside(c, l.load)
	ctx := context.Background()
	for range 3 {
		if v, err := reads.Get(ctx, "k"); v != "v1" || err != nil {
			t.Fatalf("Get = %q, %v; want the first load's v1", v, err)
		}
	}
	reads.Invalidate("k")
	if v, _ := reads.Get(ctx, "k"); v != "v2" || l.n != 2 {
		t.Fatalf("Get after Invalidate = %q after %d loads; want a second load", v, l.n)
	}
}
