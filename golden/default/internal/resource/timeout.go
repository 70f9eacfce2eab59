package resource

import (
	"context"
	"time"
)

// StoreContext returns ctx bounded by timeout, for one call to a store,
// and the function that releases it. It makes no timer when timeout is
// zero or ctx already ends sooner, as when a batch's lookups run under the
// batch's bound or the cache's LoadTimeout already bounds a load: a
// request served from the cache never reaches it, so the bound costs only
// the requests that wait on the store.
func StoreContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return ctx, noCancel
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= timeout {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, timeout)
}

// noCancel releases a context StoreContext did not derive.
func noCancel() {}
