// Package orders is the orders resource, added with perfgen add
// resource: its rules, the Store interface it is kept behind, the Service
// both APIs call, its gRPC server (which the generated HTTP bindings serve
// too), and Register, which adds it to the service (resource.go).
// cmd/shop/resources.go registers it.
//
// Each order is kept and served as the Order message of
// api/proto/shop/v1/orders.proto, and requests are copied into it field by
// field name (resource.CopyFields): a field added to Order,
// CreateOrderRequest and UpdateOrderRequest, then go generate ./...,
// is stored and answered over HTTP and gRPC with no Go edit. Give a new
// field a rule in Validate if it needs more than resource.CheckFields.
package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	shopv1 "example.com/shop/api/proto/shop/v1"
	"example.com/shop/internal/resource"
)

// Order is one stored order: the .proto's message, whose JSON is
// its proto3 JSON mapping on every route. Values a Store or the Service
// returns may be shared with other readers: do not modify them.
type Order = shopv1.Order

// NewOrder is what a client sends to create an order, or to replace
// one: every client-settable field.
type NewOrder = shopv1.CreateOrderRequest

// ErrInvalid wraps every validation failure; it matches
// resource.ErrInvalid, which transports answer with 400 Bad Request or
// INVALID_ARGUMENT.
var ErrInvalid = resource.Invalid("invalid order")

// ErrNotFound reports an order that does not exist; it matches
// resource.ErrNotFound.
var ErrNotFound = resource.NotFound("order not found")

// ErrUnavailable wraps failures to reach the store; it matches
// resource.ErrUnavailable, which transports answer with 503 Service
// Unavailable or UNAVAILABLE, so clients know a retry may succeed.
var ErrUnavailable = resource.Unavailable("store unavailable")

// Validate reports the first rule n breaks: a required field left out,
// or a value some store could not keep (resource.CheckFields: text that is
// not UTF-8 or has a NUL byte, numbers that are not finite, times outside
// years 1 to 9999), so that every store accepts and refuses alike.
func Validate(n *NewOrder) error {
	if n.GetCustomer() == "" {
		return fmt.Errorf("%w: customer is required", ErrInvalid)
	}
	if n.GetPlacedAt() == nil {
		return fmt.Errorf("%w: placed_at is required", ErrInvalid)
	}
	if err := resource.CheckFields(n); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, err.Error())
	}
	return nil
}

// ValidID reports whether id has the shape NewID gives, so malformed IDs are
// rejected before they reach the store.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// NewID returns a random 128-bit identifier in hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// decodeCursor returns the ID a page cursor holds, "" for the first page.
func decodeCursor(cursor string) (string, error) {
	id, err := resource.DecodeCursor(cursor)
	if err != nil {
		return "", err
	}
	if id != "" && !ValidID(id) {
		return "", resource.Invalid("invalid page cursor: pass back the one a previous page returned")
	}
	return id, nil
}

// nextCursor returns the cursor of the page after list, which asked for
// size orders: none when list was the last page.
func nextCursor(list []*Order, size int) string {
	if len(list) == 0 {
		return ""
	}
	return resource.NextCursor(len(list), size, list[len(list)-1].GetId())
}

// Store keeps orders. Implementations are safe for concurrent use, keep
// every field of an order exactly (including fields added to the .proto
// later), and keep times to the microsecond.
type Store interface {
	// Create stores rec, a new order with its ID and times set; its ID
	// must be unused.
	Create(ctx context.Context, rec *Order) error
	// Get returns the order with id, or ErrNotFound.
	Get(ctx context.Context, id string) (*Order, error)
	// Update replaces the order with id by rec (whose ID and times it
	// ignores), keeping its creation time and setting its update time to
	// now, and returns it; or returns ErrNotFound.
	Update(ctx context.Context, id string, rec *Order, now time.Time) (*Order, error)
	// List returns up to limit orders ordered by ID, starting after the
	// ID after ("" starts at the beginning).
	List(ctx context.Context, after string, limit int) ([]*Order, error)
	// Delete removes the order with id, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
}
