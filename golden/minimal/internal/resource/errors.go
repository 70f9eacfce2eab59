// Package resource holds what every resource of the service shares, so a
// new resource writes only its own rules: the error values both transports
// map to statuses, cursor pagination, values kept with their JSON encoding
// for the zero-encode read path, the bound on each
// store call, and the Set each resource registers itself in.
package resource

import "errors"

// The kinds of failure a client can act on. A resource declares its own
// error values with Invalid, NotFound and Unavailable, so its messages name
// it ("item not found") while the transports map every resource's errors
// alike: 400 or INVALID_ARGUMENT, 404 or NOT_FOUND, 503 or UNAVAILABLE.
var (
	// ErrInvalid is a request that breaks the resource's rules.
	ErrInvalid = errors.New("invalid argument")
	// ErrNotFound is a request for something that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable is a dependency (the store) that cannot be reached; a
	// retry may succeed.
	ErrUnavailable = errors.New("unavailable")
)

// Invalid returns an error that reads msg and matches ErrInvalid.
func Invalid(msg string) error { return &kindError{msg: msg, kind: ErrInvalid} }

// NotFound returns an error that reads msg and matches ErrNotFound.
func NotFound(msg string) error { return &kindError{msg: msg, kind: ErrNotFound} }

// Unavailable returns an error that reads msg and matches ErrUnavailable.
func Unavailable(msg string) error { return &kindError{msg: msg, kind: ErrUnavailable} }

// kindError is a resource's own error value of one kind. It is a pointer,
// so errors.Is matches the value itself as well as its kind.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
