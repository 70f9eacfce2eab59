// Package items is the service's example resource: its type, its rules, the
// Store interface it is kept behind, the Service every API calls, the
// Server that implements its .proto service over it, its hand-written
// HTTP routes, and Register, which adds it to the service (resource.go).
// A new resource is a package like this one and one line in
// cmd/shop/resources.go.
package items

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

// Item is one stored item. Its JSON is the .proto's Item message in the
// proto3 JSON mapping (see MarshalJSON in server.go), on every route.
type Item struct {
	ID        string
	Name      string
	Quantity  int64
	CreatedAt time.Time
}

// NewItem is what a client sends to create an item.
type NewItem struct {
	Name     string
	Quantity int64
}

// MaxNameLen bounds an item's name, in characters.
const MaxNameLen = 200

// ErrInvalid wraps every validation failure; it matches
// resource.ErrInvalid, which transports answer with 400 Bad Request or
// INVALID_ARGUMENT.
var ErrInvalid = resource.Invalid("invalid item")

// ErrNotFound reports an item that does not exist; it matches
// resource.ErrNotFound.
var ErrNotFound = resource.NotFound("item not found")

// ErrUnavailable wraps failures to reach the store (connection refused or
// lost, deadline spent waiting for it); it matches resource.ErrUnavailable,
// which transports answer with 503 Service Unavailable or UNAVAILABLE, so
// clients know a retry may succeed.
var ErrUnavailable = resource.Unavailable("store unavailable")

// Validate reports the first rule n breaks.
func (n NewItem) Validate() error {
	switch {
	case n.Name == "":
		return fmt.Errorf("%w: name is required", ErrInvalid)
	case !utf8.ValidString(n.Name):
		return fmt.Errorf("%w: name is not valid UTF-8", ErrInvalid)
	case strings.IndexByte(n.Name, 0) >= 0:
		// Postgres text cannot hold NUL; every store rejects it alike.
		return fmt.Errorf("%w: name must not contain NUL characters", ErrInvalid)
	case utf8.RuneCountInString(n.Name) > MaxNameLen:
		return fmt.Errorf("%w: name is longer than %d characters", ErrInvalid, MaxNameLen)
	case n.Quantity < 0:
		return fmt.Errorf("%w: quantity must not be negative", ErrInvalid)
	}
	return nil
}

// ValidID reports whether id has the shape NewID gives, so malformed IDs are
// rejected before they reach the store.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	// Checked by hand: hex.DecodeString would allocate on every GET.
	for i := range len(id) {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
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
// size items: none when list was the last page.
func nextCursor(list []Item, size int) string {
	if len(list) == 0 {
		return ""
	}
	return resource.NextCursor(len(list), size, list[len(list)-1].ID)
}

// NewID returns a random 128-bit identifier in hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Store keeps items. Implementations are safe for concurrent use.
type Store interface {
	// Create stores a new item; its ID must be unused.
	Create(ctx context.Context, it Item) error
	// Get returns the item with id, or ErrNotFound.
	Get(ctx context.Context, id string) (Item, error)
	// List returns up to limit items ordered by ID, starting after the ID
	// after ("" starts at the beginning).
	List(ctx context.Context, after string, limit int) ([]Item, error)
	// Update replaces the name and quantity of the item with id by in's
	// and returns the item as stored, or ErrNotFound.
	Update(ctx context.Context, id string, in NewItem) (Item, error)
	// Delete removes the item with id, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
}
