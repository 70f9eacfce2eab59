package resource

import (
	"context"
	"errors"
	"log/slog"
)

// The google.rpc.Code numbers Status gives errors. The generated HTTP
// bindings answer each with its HTTP status and name, as a gRPC server
// would report it.
const (
	codeCanceled         = 1
	codeInvalidArgument  = 3
	codeDeadlineExceeded = 4
	codeNotFound         = 5
	codeInternal         = 13
	codeUnavailable      = 14
)

// Status maps an error from a resource to the error the generated HTTP
// bindings answer with, as httpjson.Error maps it for the hand-written
// routes: an error whose CanonicalCode the bindings turn into the HTTP
// status (400, 404, 503, ...). Errors the client cannot act on are logged
// and answered as INTERNAL without their text, which may describe the
// store.
func Status(ctx context.Context, log *slog.Logger, err error) error {
	switch {
	case errors.Is(err, ErrInvalid):
		return &StatusError{Code: codeInvalidArgument, Message: err.Error()}
	case errors.Is(err, ErrNotFound):
		return &StatusError{Code: codeNotFound, Message: err.Error()}
	case errors.Is(err, ErrUnavailable):
		// Before the deadline case: a deadline spent waiting for the store
		// is the store's outage. 503 tells clients to retry.
		return &StatusError{Code: codeUnavailable, Message: "service temporarily unavailable; retry"}
	case errors.Is(err, context.DeadlineExceeded):
		return &StatusError{Code: codeDeadlineExceeded, Message: "deadline exceeded"}
	case errors.Is(err, context.Canceled):
		return &StatusError{Code: codeCanceled, Message: "request canceled"}
	}
	log.ErrorContext(ctx, "request failed", "err", err)
	return &StatusError{Code: codeInternal, Message: "internal error"}
}

// StatusError is an error a client is told: a google.rpc.Code and the
// message to send.
type StatusError struct {
	Code    uint32
	Message string
}

func (e *StatusError) Error() string { return e.Message }

// CanonicalCode returns e.Code. The generated HTTP bindings look for this
// method to choose the answer's status.
func (e *StatusError) CanonicalCode() uint32 { return e.Code }
