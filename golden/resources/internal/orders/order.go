// Package orders is the orders resource, added with perfgen add
// resource: its type, its rules, the Store interface it is kept behind, the
// Service both APIs call, its gRPC server (which the generated HTTP
// bindings serve too), and Register, which adds it to the service
// (resource.go). cmd/shop/resources.go registers it.
package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/shop/internal/resource"
)

// Order is one stored order. Its JSON is the .proto's Order message
// in the proto3 JSON mapping (see MarshalJSON in grpc.go), on every route.
type Order struct {
	ID         string
	Customer   string
	TotalCents int64
	Note       *string
	PlacedAt   time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewOrder is what a client sends to create a order, or to replace
// one: every client-settable field. A nil pointer is a field the
// client left out.
type NewOrder struct {
	Customer   string
	TotalCents int64
	Note       *string
	PlacedAt   time.Time
}

// MaxTextLen bounds a string field, in characters.
const MaxTextLen = 1000

// ErrInvalid wraps every validation failure; it matches
// resource.ErrInvalid, which transports answer with 400 Bad Request or
// INVALID_ARGUMENT.
var ErrInvalid = resource.Invalid("invalid order")

// ErrNotFound reports a order that does not exist; it matches
// resource.ErrNotFound.
var ErrNotFound = resource.NotFound("order not found")

// ErrUnavailable wraps failures to reach the store; it matches
// resource.ErrUnavailable, which transports answer with 503 Service
// Unavailable or UNAVAILABLE, so clients know a retry may succeed.
var ErrUnavailable = resource.Unavailable("store unavailable")

// Validate reports the first rule n breaks. The rules are what every store
// accepts, checked here so that every store behaves alike: text is valid
// UTF-8 without NUL bytes (Postgres refuses both), numbers are finite,
// times fall in years 1 to 9999.
func (n NewOrder) Validate() error {
	if n.Customer == "" {
		return fmt.Errorf("%w: customer is required", ErrInvalid)
	}
	if err := checkText("customer", n.Customer); err != nil {
		return err
	}
	if n.Note != nil {
		if err := checkText("note", *n.Note); err != nil {
			return err
		}
	}
	if n.PlacedAt.IsZero() {
		return fmt.Errorf("%w: placed_at is required", ErrInvalid)
	}
	if err := checkTime("placed_at", n.PlacedAt); err != nil {
		return err
	}
	return nil
}

// checkText reports whether s can be stored in the text field name.
func checkText(name, s string) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, name)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalid, name)
	case utf8.RuneCountInString(s) > MaxTextLen:
		return fmt.Errorf("%w: %s is longer than %d characters", ErrInvalid, name, MaxTextLen)
	}
	return nil
}

// checkTime reports whether t can be stored in the time field name: every
// store and the protobuf Timestamp hold years 1 to 9999.
func checkTime(name string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%w: %s is outside years 1 to 9999", ErrInvalid, name)
	}
	return nil
}

// normalize returns n as it is stored: times in UTC, to the microsecond
// (what Postgres keeps), so every store returns the same value.
func (n NewOrder) normalize() NewOrder {
	n.PlacedAt = n.PlacedAt.UTC().Truncate(time.Microsecond)
	return n
}

// Replace returns rec with its client-settable fields replaced by n's, as
// an update stores it.
func (n NewOrder) Replace(rec Order) Order {
	rec.Customer = n.Customer
	rec.TotalCents = n.TotalCents
	rec.Note = n.Note
	rec.PlacedAt = n.PlacedAt
	return rec
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
func nextCursor(list []Order, size int) string {
	if len(list) == 0 {
		return ""
	}
	return resource.NextCursor(len(list), size, list[len(list)-1].ID)
}

// Store keeps orders. Implementations are safe for concurrent use.
type Store interface {
	// Create stores a new order; its ID must be unused.
	Create(ctx context.Context, rec Order) error
	// Get returns the order with id, or ErrNotFound.
	Get(ctx context.Context, id string) (Order, error)
	// Update replaces the client-settable fields of the order with id
	// by n's and sets its update time to now, and returns it; or returns
	// ErrNotFound.
	Update(ctx context.Context, id string, n NewOrder, now time.Time) (Order, error)
	// List returns up to limit orders ordered by ID, starting after the
	// ID after ("" starts at the beginning).
	List(ctx context.Context, after string, limit int) ([]Order, error)
	// Delete removes the order with id, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
}
