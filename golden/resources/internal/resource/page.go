package resource

import (
	"encoding/base64"
	"fmt"
	"strconv"
)

// errCursor answers a cursor this service did not hand out.
var errCursor = Invalid("invalid page cursor: pass back the one a previous page returned")

// EncodeCursor returns the opaque cursor of the page that starts after key.
// Clients pass it back unchanged; keeping it opaque lets a resource change
// what it pages by without breaking them.
func EncodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// DecodeCursor returns the key a cursor from EncodeCursor holds; "" is the
// first page. The caller still checks the key has its resource's shape.
func DecodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	key, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(key) == 0 {
		return "", errCursor
	}
	return string(key), nil
}

// NextCursor returns the cursor of the page after one that returned n
// results of the size asked, ending at lastKey: empty when the page was
// short, so it was the last.
func NextCursor(n, size int, lastKey string) string {
	if n == 0 || n < size {
		return ""
	}
	return EncodeCursor(lastKey)
}

// PageSize returns the size of page a client gets for asking n results:
// n, capped at maxSize; 0 asks for the largest page. Negative is invalid.
func PageSize(n, maxSize int) (int, error) {
	switch {
	case n < 0:
		return 0, Invalid("page size must not be negative")
	case n == 0 || n > maxSize:
		return maxSize, nil
	}
	return n, nil
}

// ParseLimit parses a limit query parameter into a page size: "" asks for
// the largest page, maxSize, and larger limits are capped to it.
func ParseLimit(s string, maxSize int) (int, error) {
	if s == "" {
		return maxSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, Invalid(fmt.Sprintf("limit %q must be a positive integer", s))
	}
	return min(n, maxSize), nil
}
