package resource

import (
	"encoding/json"
	"fmt"
)

// Encoded is a value together with its JSON encoding (newline-terminated,
// as json.Encoder writes it). A resource caches its values this way, so a
// read served many times is encoded once and written from the cached bytes.
// It is kept and passed by pointer and never modified once made: readers
// share it, and a cache hit moves one word instead of the whole value
// through every frame between the cache and the handler. Over HTTP/2 each
// request runs on a new goroutine with a small stack, and frames that carry
// the value grow (copy) that stack on every request.
type Encoded[T any] struct {
	Value T
	JSON  []byte
}

// Encode encodes v once, for callers that serve it many times.
func Encode[T any](v T) (*Encoded[T], error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return &Encoded[T]{Value: v, JSON: append(b, '\n')}, nil
}

// encodedOverhead allows for the structures around an entry: the value's
// own fields and headers, the slice header, the cache's bookkeeping.
const encodedOverhead = 128

// Size estimates the memory e holds, for a byte-bounded cache: the encoding
// twice (the value's strings are at most as long as their encoding) and an
// allowance for the structures around them.
func (e *Encoded[T]) Size() int64 {
	return int64(2*len(e.JSON) + encodedOverhead)
}
