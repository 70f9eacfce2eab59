package pool

import (
	"bytes"
	"sync"
)

// maxPooledBuffer is the largest buffer kept for reuse. Pooling a buffer
// that once held a huge response would pin that memory for every later
// small one.
const maxPooledBuffer = 64 << 10

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// GetBuffer returns an empty buffer. Return it with PutBuffer once nothing
// refers to its bytes any more.
func GetBuffer() *bytes.Buffer {
	return buffers.Get().(*bytes.Buffer)
}

// PutBuffer resets b and keeps it for reuse, unless it has grown too large.
func PutBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	buffers.Put(b)
}
