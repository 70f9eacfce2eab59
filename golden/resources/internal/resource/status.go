package resource

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Status maps an error from a resource to a gRPC status, as httpjson.Error
// maps it to an HTTP one; the generated HTTP bindings answer a status
// with the HTTP status of its code. Errors the client cannot act on are
// logged and answered as codes.Internal without their text, which may
// describe the store.
func Status(ctx context.Context, log *slog.Logger, err error) error {
	switch {
	case errors.Is(err, ErrInvalid):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, ErrUnavailable):
		// Before the deadline case: a deadline spent waiting for the store
		// is the store's outage. UNAVAILABLE tells clients to retry.
		return status.Error(codes.Unavailable, "service temporarily unavailable; retry")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	}
	log.ErrorContext(ctx, "request failed", "err", err)
	return status.Error(codes.Internal, "internal error")
}
