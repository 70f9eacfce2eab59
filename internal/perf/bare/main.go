// Command bare is the baseline `make perf` measures generated services
// against: the items JSON API written the plain way with net/http alone,
// a map behind a RWMutex and encoding/json, on one port serving HTTP/1.1 and
// cleartext HTTP/2 like the generated service. It has no metrics, limits,
// timeouts or logging per request: whatever the generated service costs
// beyond it is the price of those.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "bare: %v\n", err)
		os.Exit(1)
	}
}

// item has the generated service's JSON shape.
// item is encoded as the generated service encodes it, in the .proto's
// JSON mapping: 64-bit integers as strings, lowerCamelCase names.
type item struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Quantity   int64     `json:"quantity,string"`
	CreateTime time.Time `json:"createTime"`
}

type store struct {
	mu    sync.RWMutex
	items map[string]item
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s := &store{items: make(map[string]item)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/items", s.create)
	mux.HandleFunc("GET /v1/items/{id}", s.get)

	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: mux, Protocols: &protocols}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// The same startup line as the generated service, so one parser finds
	// both servers' ports.
	slog.New(slog.NewJSONHandler(os.Stdout, nil)).Info("listening", "server", "http", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *store) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string `json:"name"`
		Quantity int64  `json:"quantity,string"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, `{"error":"malformed JSON body"}`, http.StatusBadRequest)
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	it := item{ID: hex.EncodeToString(b[:]), Name: in.Name, Quantity: in.Quantity, CreateTime: time.Now().UTC()}
	s.mu.Lock()
	s.items[it.ID] = it
	s.mu.Unlock()
	// 200, as the CreateItem binding answers: cmd/loadgen expects it.
	writeJSON(w, http.StatusOK, it)
}

func (s *store) get(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	it, ok := s.items[r.PathValue("id")]
	s.mu.RUnlock()
	if !ok {
		http.Error(w, `{"error":"item not found"}`, http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
