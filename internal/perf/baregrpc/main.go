// Command baregrpc is the gRPC baseline `make perf` measures generated
// services against: the items service's CreateItem and GetItem written the
// plain way with grpc-go alone, a map behind a RWMutex, for the same .proto
// as the generated service. It has no interceptors, limits, keepalive
// policy, health service or logging per call: whatever the generated
// service costs beyond it is the price of those.
//
// It lives in a module of its own that requires the default golden project,
// for its generated message code and stubs; perf copies it into the project
// it generates and builds it there, against that project's stubs.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	demov1 "example.com/demo/api/proto/demo/v1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "baregrpc: %v\n", err)
		os.Exit(1)
	}
}

// items answers from a map; it embeds the unimplemented server so the
// methods perf does not call answer UNIMPLEMENTED.
type items struct {
	demov1.UnimplementedItemsServiceServer
	mu    sync.RWMutex
	items map[string]*demov1.Item
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("baregrpc", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	demov1.RegisterItemsServiceServer(srv, &items{items: make(map[string]*demov1.Item)})
	// The same startup line as the generated service, so one parser finds
	// both servers' ports.
	slog.New(slog.NewJSONHandler(os.Stdout, nil)).Info("listening", "server", "grpc", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		srv.Stop()
	}()
	return srv.Serve(ln)
}

func (s *items) CreateItem(_ context.Context, req *demov1.CreateItemRequest) (*demov1.Item, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	it := &demov1.Item{Id: hex.EncodeToString(b[:]), Name: req.GetName(), Quantity: req.GetQuantity(), CreateTime: timestamppb.Now()}
	s.mu.Lock()
	s.items[it.Id] = it
	s.mu.Unlock()
	return it, nil
}

func (s *items) GetItem(_ context.Context, req *demov1.GetItemRequest) (*demov1.Item, error) {
	s.mu.RLock()
	it, ok := s.items[req.GetId()]
	s.mu.RUnlock()
	if !ok {
		return nil, status.Error(codes.NotFound, "item not found")
	}
	return it, nil
}
