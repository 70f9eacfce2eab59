package resource

import (
	"encoding/base64"
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
