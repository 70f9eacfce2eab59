//go:build unix

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/perfgen/perfgen/generator"
)

// TestResourceTutorial follows docs/resources.md command by command, as a
// user would with a released perfgen on PATH: perfgen new, perfgen add
// resource twice, go build and go test, the running service called over
// HTTP/1.1, h2c and gRPC, a field added to the .proto and go generate, and
// perfgen sync. Every sh block of the page runs here, in order, so a
// command in the tutorial that stops working fails this test. Between the
// blocks, Go clients check what curl cannot show: the protocol each answer
// came over, PUT's semantics and the OpenAPI document.
func TestResourceTutorial(t *testing.T) {
	tut := newTutorial(t)
	work := stableDir(t, "tutorial")

	// perfgen new, then what can be added, then orders.
	dir := tut.run(t, work, "perfgen new shop --yes")
	require.Equal(t, filepath.Join(work, "shop"), dir, "the first block ends in the new project")
	require.Contains(t, tut.output, "What perfgen add can add to a generated project:\n  resource ")

	tut.run(t, dir, "perfgen add resource orders --field customer:string --field total_cents:int64 --dry-run")
	require.Contains(t, tut.output, "dry run, nothing changed; adding resource orders would:")
	require.Regexp(t, `(?m)^added resource orders: \d+ added, \d+ updated$`, tut.output)
	protoFile := findProtoDeclaring(t, dir, "message Order {")
	require.NotEmpty(t, protoFile, "perfgen add resource orders wrote a .proto declaring message Order")

	// Builds and passes its own tests with the new resource.
	tut.run(t, dir, "go build ./... && go test ./...")
	require.Regexp(t, `(?m)^ok\s+example\.com/shop/internal/orders\s`, tut.output, "the resource's own tests ran")

	// A third resource, with an optional field.
	tut.run(t, dir, "perfgen add resource customers")
	require.NotEmpty(t, findProtoDeclaring(t, dir, "message Customer {"))

	// The service, started as the tutorial starts it, on free ports.
	svc := tut.start(t, dir, "go run ./cmd/shop")

	// The calls of the tutorial, and the order they created.
	tut.run(t, dir, "curl ", svc.vars()...)
	answers := decodeJSONStream(t, tut.output)
	require.GreaterOrEqual(t, len(answers), 4, "the curl block's answers:\n%s", tut.output)
	id, _ := answers[0]["id"].(string)
	require.NotEmpty(t, id, "POST /v1/orders answered without an id:\n%s", tut.output)
	for i, a := range answers {
		assert.Equal(t, id, a["id"], "answer %d of the curl block is not the order created", i)
	}
	last := answers[len(answers)-1]
	assert.Equal(t, "1500", last["totalCents"], "the curl block ends with the order after its PUT")

	// HTTP/1.1 and h2c, told apart by the protocol of the answer.
	for _, c := range []struct {
		name   string
		client *http.Client
		major  int
	}{{"HTTP/1.1", http1Client(), 1}, {"h2c", h2cClient(), 2}} {
		t.Run(c.name, func(t *testing.T) {
			created := svc.call(t, c.client, c.major, http.MethodPost, "/v1/orders", `{"customer":"grace","totalCents":"4200"}`, http.StatusOK)
			oid, _ := created["id"].(string)
			require.NotEmpty(t, oid)
			assert.Equal(t, "grace", created["customer"])
			assert.Equal(t, "4200", created["totalCents"], "int64 fields are JSON strings")
			assert.Contains(t, created, "createTime")

			got := svc.call(t, c.client, c.major, http.MethodGet, "/v1/orders/"+oid, "", http.StatusOK)
			assert.Equal(t, created, got)

			// PUT replaces every client-settable field and keeps the rest.
			put := svc.call(t, c.client, c.major, http.MethodPut, "/v1/orders/"+oid, `{"customer":"grace hopper","totalCents":"99"}`, http.StatusOK)
			assert.Equal(t, oid, put["id"])
			assert.Equal(t, "grace hopper", put["customer"])
			assert.Equal(t, "99", put["totalCents"])
			assert.Equal(t, created["createTime"], put["createTime"])
			got = svc.call(t, c.client, c.major, http.MethodGet, "/v1/orders/"+oid, "", http.StatusOK)
			assert.Equal(t, put, got, "GET after PUT answers the updated order")

			missing := strings.Repeat("0", len(oid))
			svc.call(t, c.client, c.major, http.MethodPut, "/v1/orders/"+missing, `{"customer":"x","totalCents":"1"}`, http.StatusNotFound)
			svc.call(t, c.client, c.major, http.MethodGet, "/v1/orders/"+missing, "", http.StatusNotFound)
			svc.call(t, c.client, c.major, http.MethodPost, "/v1/customers", `{"name":"ada","email":"ada@example.com"}`, http.StatusOK)
		})
	}

	// gRPC, through the client program the tutorial writes with the
	// project's generated package.
	tut.writeGoProgram(t, dir, "cmd/orderctl/main.go")
	tut.run(t, dir, "go run ./cmd/orderctl", append(svc.vars(), "ID="+id)...)
	viaGRPC := decodeJSONStream(t, tut.output)
	require.NotEmpty(t, viaGRPC, "orderctl printed no order:\n%s", tut.output)
	for _, o := range viaGRPC {
		assert.NotEmpty(t, o["id"])
		assert.Contains(t, o, "customer")
	}
	assert.Equal(t, id, viaGRPC[len(viaGRPC)-1]["id"], "orderctl ID reads the order created over HTTP")
	assert.Equal(t, "1500", viaGRPC[len(viaGRPC)-1]["totalCents"], "gRPC reads what HTTP's PUT wrote")

	// The OpenAPI document has the new routes.
	openapi := findOpenAPI(t, dir)
	paths := openAPIPaths(t, openapi)
	assert.ElementsMatch(t, []string{"get", "post"}, paths["/v1/orders"], "%s: /v1/orders", openapi)
	assert.ElementsMatch(t, []string{"delete", "get", "put"}, paths["/v1/orders/{id}"], "%s: /v1/orders/{id}", openapi)
	assert.Contains(t, paths, "/v1/customers/{id}", openapi)
	assert.Contains(t, paths, "/v1/items/{id}", openapi)
	resp, err := http1Client().Get("http://" + svc.admin + "/openapi.yaml")
	require.NoError(t, err)
	served, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, mustRead(t, openapi), string(served), "the admin port serves the OpenAPI document as it is on disk")
	svc.stop(t)

	// A field added to the .proto (the tutorial's diff) and nothing else:
	// go generate carries it to the messages, the HTTP JSON codec and the
	// OpenAPI document.
	tut.apply(t, dir, "api/proto/shop/v1/orders.proto")
	edited := mustRead(t, protoFile)
	tut.run(t, dir, "go generate ./...")
	apiDir := filepath.Dir(protoFile)
	for _, f := range []string{"orders.pb.go", "orders_http.pb.go", "openapi.yaml"} {
		assert.Regexp(t, `(?m)^updated .*/`+regexp.QuoteMeta(f)+`$`, tut.output, "go generate rewrote %s", f)
	}
	pb := mustRead(t, filepath.Join(apiDir, "orders.pb.go"))
	for _, msg := range []string{"Order", "CreateOrderRequest", "UpdateOrderRequest"} {
		assert.Contains(t, pb, "func (x *"+msg+") GetNote() string {", "the gRPC message %s has the field", msg)
	}
	assert.Contains(t, mustRead(t, filepath.Join(apiDir, "orders_http.pb.go")), "`\"note\":`", "the HTTP JSON codec has the field")
	schemas := openAPISchemas(t, findOpenAPI(t, dir))
	for _, msg := range []string{"shop.v1.Order", "shop.v1.CreateOrderRequest", "shop.v1.UpdateOrderRequest"} {
		assert.Contains(t, schemas[msg], "note", "the OpenAPI schema %s has the field", msg)
	}

	// With no Go edit, the running service keeps the field and answers it
	// over every transport.
	svc = tut.start(t, dir, "go run ./cmd/shop")
	tut.run(t, dir, "curl ", svc.vars()...)
	withNote := decodeJSONStream(t, tut.output)
	require.NotEmpty(t, withNote)
	nid, _ := withNote[0]["id"].(string)
	require.NotEmpty(t, nid)
	for i, a := range withNote {
		assert.Equal(t, "leave it at the door", a["note"], "answer %d of the curl block after the field was added:\n%s", i, tut.output)
	}
	for _, c := range []struct {
		client *http.Client
		major  int
	}{{http1Client(), 1}, {h2cClient(), 2}} {
		got := svc.call(t, c.client, c.major, http.MethodGet, "/v1/orders/"+nid, "", http.StatusOK)
		assert.Equal(t, "leave it at the door", got["note"])
	}
	// PUT is a full replacement: a note left out is cleared.
	cleared := svc.call(t, h2cClient(), 2, http.MethodPut, "/v1/orders/"+nid, `{"customer":"ada","totalCents":"1250"}`, http.StatusOK)
	assert.NotContains(t, cleared, "note", "PUT without the note")
	svc.call(t, http1Client(), 1, http.MethodPut, "/v1/orders/"+nid, `{"customer":"ada","totalCents":"1250","note":"leave it at the door"}`, http.StatusOK)
	tut.run(t, dir, "go run ./cmd/orderctl", append(svc.vars(), "ID="+nid)...)
	viaGRPC = decodeJSONStream(t, tut.output)
	require.NotEmpty(t, viaGRPC)
	assert.Equal(t, "leave it at the door", viaGRPC[len(viaGRPC)-1]["note"], "the field is in the gRPC message")
	svc.stop(t)

	// perfgen sync re-renders the project with its three resources and
	// keeps the .proto edit: nothing to change.
	tut.run(t, dir, "perfgen sync")
	assert.Contains(t, tut.output, "in sync: nothing to change")
	assert.Equal(t, edited, mustRead(t, protoFile), "perfgen sync kept the field added to the .proto")

	tut.done(t)
}

// TestAddResourcePostgres adds a resource to a Postgres project, serves it
// from a database of its own, adds the tutorial's field to its .proto and
// serves that with no other edit, then runs the tests of the resource and
// the stores under the race detector against the real database: the
// resource's Postgres store, its migration and its service tests.
func TestAddResourcePostgres(t *testing.T) {
	if os.Getenv("DATABASE_URL") == "" {
		t.Skip("DATABASE_URL is not set: the Postgres store's tests need a database (.ci/run sets it)")
	}
	perfgen := installPerfgen(t)
	work := stableDir(t, "add-resource-postgres")
	runIn(t, work, nil, perfgen, "new", "shop", "--yes", "--store", "postgres", "--deploy", "none")
	dir := filepath.Join(work, "shop")
	runIn(t, dir, nil, perfgen, "add", "resource", "orders", "--field", "customer:string", "--field", "total_cents:int64")
	migrations := globFiles(t, dir, "*.sql")
	require.NotEmpty(t, migrations)
	assert.True(t, slicesContainFunc(migrations, func(p string) bool { return strings.Contains(p, "orders") }),
		"perfgen add resource orders wrote no migration for orders: %v", migrations)

	// The service creates the orders table at start and serves orders from
	// it, on a database of its own.
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "DATABASE_URL="+createDatabase(t))
	svc := startService(t, dir, env, "go run ./cmd/shop")
	before := svc.call(t, http1Client(), 1, http.MethodPost, "/v1/orders", `{"customer":"ada","totalCents":"9007199254740993"}`, http.StatusOK)
	id, _ := before["id"].(string)
	require.NotEmpty(t, id)
	assert.Equal(t, "9007199254740993", before["totalCents"], "an int64 past 2^53 survives the round trip")
	assert.Equal(t, before, svc.call(t, h2cClient(), 2, http.MethodGet, "/v1/orders/"+id, "", http.StatusOK))
	put := svc.call(t, h2cClient(), 2, http.MethodPut, "/v1/orders/"+id, `{"customer":"grace","totalCents":"7"}`, http.StatusOK)
	assert.Equal(t, "grace", put["customer"])
	assert.Equal(t, put, svc.call(t, http1Client(), 1, http.MethodGet, "/v1/orders/"+id, "", http.StatusOK))
	svc.stop(t)

	// The tutorial's field, added to the .proto of a Postgres project: after
	// go generate alone, the same table keeps it, and the order stored
	// before it reads as it was.
	diffs := blocksOf(readCodeBlocks(t, tutorialPath), "diff")
	require.NotEmpty(t, diffs, "%s has the diff that adds a field", tutorialPath)
	applyDiff(t, dir, diffs[0].Text)
	goCmd(t, dir, 5*time.Minute, "generate", "./...")
	svc = startService(t, dir, env, "go run ./cmd/shop")
	assert.Equal(t, put, svc.call(t, h2cClient(), 2, http.MethodGet, "/v1/orders/"+id, "", http.StatusOK))
	noted := svc.call(t, h2cClient(), 2, http.MethodPost, "/v1/orders", `{"customer":"ada","totalCents":"1","note":"ring twice"}`, http.StatusOK)
	nid, _ := noted["id"].(string)
	require.NotEmpty(t, nid)
	assert.Equal(t, "ring twice", noted["note"])
	assert.Equal(t, noted, svc.call(t, http1Client(), 1, http.MethodGet, "/v1/orders/"+nid, "", http.StatusOK))
	svc.stop(t)

	// The resource's own packages and the stores, with the field added:
	// TestGoldenProjects/resources runs the whole of such a project.
	goCmd(t, dir, 15*time.Minute, "test", "-race", "-count=1", "./internal/orders/...", "./internal/store/...")
}

// tutorial runs docs/resources.md's sh blocks in order.
type tutorial struct {
	blocks []codeBlock // the sh blocks not yet run
	diffs  []codeBlock // the diff blocks not yet applied
	all    []codeBlock // every block, for the Go program
	env    []string
	// output is the combined output of the last block run.
	output string
}

func newTutorial(t *testing.T) *tutorial {
	t.Helper()
	all := readCodeBlocks(t, tutorialPath)
	bin := filepath.Dir(installPerfgen(t))
	return &tutorial{
		blocks: blocksOf(all, "sh"),
		diffs:  blocksOf(all, "diff"),
		all:    all,
		env: append(os.Environ(),
			"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"GOFLAGS=-mod=mod",
		),
	}
}

// next takes the next sh block, which must begin with first.
func (tut *tutorial) next(t *testing.T, first string) codeBlock {
	t.Helper()
	require.NotEmpty(t, tut.blocks, "%s has no sh block left; want one beginning %q", tutorialPath, first)
	b := tut.blocks[0]
	tut.blocks = tut.blocks[1:]
	cmds := b.Commands()
	require.NotEmpty(t, cmds, "%s:%d: empty sh block", tutorialPath, b.Line)
	require.True(t, strings.HasPrefix(cmds[0], first), "%s:%d: the next sh block begins %q; this test expects %q there", tutorialPath, b.Line, cmds[0], first)
	return b
}

// run runs the next sh block, which must begin with first, in dir through
// bash, stopping at the first failing command, with vars added to the
// environment. It returns the directory the block ends in (a block may cd)
// and keeps the block's output in tut.output.
func (tut *tutorial) run(t *testing.T, dir, first string, vars ...string) string {
	t.Helper()
	b := tut.next(t, first)
	script := "set -euo pipefail\n" + substituteAddrs(b.Text, vars) + "pwd >&3\n"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(append(append([]string{}, tut.env...), localPerfgen(t).Env...), vars...)
	cmd.ExtraFiles = []*os.File{pw}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Start()
	pw.Close()
	require.NoError(t, err)
	cwd, _ := io.ReadAll(pr)
	err = cmd.Wait()
	tut.output = out.String()
	t.Logf("%s:%d:\n%s%s", tutorialPath, b.Line, b.Text, indent(tut.output))
	require.NoError(t, err, "%s:%d: the block failed:\n%s\noutput:\n%s", tutorialPath, b.Line, b.Text, tut.output)
	return strings.TrimSpace(string(cwd))
}

// start runs the next sh block, which must be the one command that starts
// the service, in the background with the service's addresses set to
// free loopback ports, and waits until the service is ready.
func (tut *tutorial) start(t *testing.T, dir, command string) *service {
	t.Helper()
	b := tut.next(t, command)
	require.Equal(t, []string{command}, b.Commands(), "%s:%d: the block that starts the service", tutorialPath, b.Line)
	return startService(t, dir, tut.env, command)
}

// done fails the test when a sh block of the tutorial did not run.
func (tut *tutorial) done(t *testing.T) {
	t.Helper()
	for _, b := range append(tut.blocks, tut.diffs...) {
		t.Errorf("%s:%d: this %s block is not run by the test:\n%s", tutorialPath, b.Line, b.Lang, b.Text)
	}
}

// apply applies the next diff block of the tutorial, which must change
// path, to the project in dir, as a user makes the edit it shows.
func (tut *tutorial) apply(t *testing.T, dir, path string) {
	t.Helper()
	require.NotEmpty(t, tut.diffs, "%s has no diff block left; want one changing %s", tutorialPath, path)
	b := tut.diffs[0]
	tut.diffs = tut.diffs[1:]
	require.Contains(t, b.Text, "\n+++ b/"+path+"\n", "%s:%d: the next diff block does not change %s", tutorialPath, b.Line, path)
	t.Logf("%s:%d: applying its diff", tutorialPath, b.Line)
	applyDiff(t, dir, b.Text)
}

// applyDiff applies the unified diff text to the files under dir.
func applyDiff(t *testing.T, dir, text string) {
	t.Helper()
	patch := filepath.Join(t.TempDir(), "edit.diff")
	require.NoError(t, os.WriteFile(patch, []byte(text), 0o644))
	run(t, dir, time.Minute, "git", "apply", "--verbose", patch)
}

// writeGoProgram writes the tutorial's Go program, its one go block
// declaring package main, to path in dir.
func (tut *tutorial) writeGoProgram(t *testing.T, dir, path string) {
	t.Helper()
	var src []string
	for _, b := range tut.all {
		if b.Lang == "go" && strings.Contains(b.Text, "\npackage main\n") {
			src = append(src, b.Text)
		}
	}
	require.Len(t, src, 1, "%s has one Go program (a go block declaring package main)", tutorialPath)
	require.Contains(t, src[0], path, "the tutorial's Go program names its path")
	full := filepath.Join(dir, filepath.FromSlash(path))
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.WriteFile(full, []byte(src[0]), 0o644))
}

// The tutorial's addresses: the generated service's defaults.
const (
	tutorialHTTPAddr = "127.0.0.1:8080"
	tutorialGRPCAddr = "127.0.0.1:9090"
)

// substituteAddrs replaces the tutorial's default addresses in text with
// the ones vars (HTTP_ADDR=, GRPC_ADDR=) name.
func substituteAddrs(text string, vars []string) string {
	for _, v := range vars {
		if a, ok := strings.CutPrefix(v, "HTTP_ADDR="); ok {
			text = strings.ReplaceAll(text, tutorialHTTPAddr, a)
		}
		if a, ok := strings.CutPrefix(v, "GRPC_ADDR="); ok {
			text = strings.ReplaceAll(text, tutorialGRPCAddr, a)
		}
	}
	return text
}

// service is the tutorial's service, running in the background.
type service struct {
	cmd                    *exec.Cmd
	log                    *bytes.Buffer
	http, grpc, admin, env string
}

func startService(t *testing.T, dir string, env []string, command string) *service {
	t.Helper()
	addrs := freeAddrs(t, 3)
	s := &service{log: new(bytes.Buffer), http: addrs[0], grpc: addrs[1], admin: addrs[2]}
	prefix := "SHOP_"
	cmd := exec.Command("bash", "-c", "exec "+command)
	cmd.Dir = dir
	cmd.Env = append(append(append([]string{}, env...), localPerfgen(t).Env...),
		prefix+"HTTP_ADDR="+s.http, prefix+"GRPC_ADDR="+s.grpc, prefix+"ADMIN_ADDR="+s.admin, prefix+"SHUTDOWN_DELAY=0s")
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	s.cmd = cmd
	t.Cleanup(func() { s.stop(t) })

	// go run builds first: allow for it.
	client := http1Client()
	for end := time.Now().Add(3 * time.Minute); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if resp, err := client.Get("http://" + s.admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if err := syscall.Kill(-cmd.Process.Pid, 0); err != nil {
			break
		}
	}
	s.stop(t)
	t.Fatalf("%s did not become ready:\n%s", command, s.log)
	return nil
}

// vars returns the environment that tells a tutorial block the service's
// addresses.
func (s *service) vars() []string {
	return []string{"HTTP_ADDR=" + s.http, "GRPC_ADDR=" + s.grpc}
}

// stop stops the service (go run and the binary it started) and waits for
// it; stopping twice is fine.
func (s *service) stop(t *testing.T) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Errorf("the service did not stop within 30s of SIGTERM:\n%s", s.log)
	}
	s.cmd = nil
	if t.Failed() {
		t.Logf("service log:\n%s", s.log)
	}
}

// call sends one JSON request to the service's public port with client,
// checks the protocol and status of the answer, and returns its JSON
// object.
func (s *service) call(t *testing.T, client *http.Client, major int, method, path, body string, status int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+s.http+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, major, resp.ProtoMajor, "%s %s answered over %s", method, path, resp.Proto)
	require.Equal(t, status, resp.StatusCode, "%s %s: %s", method, path, data)
	var v map[string]any
	require.NoError(t, json.Unmarshal(data, &v), "%s %s answered %q", method, path, data)
	return v
}

// http1Client speaks HTTP/1.1 only.
func http1Client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
}

// h2cClient speaks HTTP/2 without TLS from the first byte (prior
// knowledge), as curl --http2-prior-knowledge does.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Protocols: &p}}
}

// decodeJSONStream decodes the JSON objects in out, one after another, and
// skips any other line (a shell's or go run's).
func decodeJSONStream(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	rest := out
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return objs
		}
		dec := json.NewDecoder(strings.NewReader(rest[i:]))
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			// Not JSON: skip the brace.
			rest = rest[i+1:]
			continue
		}
		objs = append(objs, v)
		rest = rest[i+int(dec.InputOffset()):]
	}
}

// findProtoDeclaring returns the .proto file under dir/api that contains
// decl, or "".
func findProtoDeclaring(t *testing.T, dir, decl string) string {
	t.Helper()
	for _, p := range globFiles(t, filepath.Join(dir, "api"), "*.proto") {
		if strings.Contains(mustRead(t, p), "\n"+decl+"\n") {
			return p
		}
	}
	return ""
}

// findOpenAPI returns the project's one OpenAPI document, wherever perfgen
// writes it.
func findOpenAPI(t *testing.T, dir string) string {
	t.Helper()
	docs := globFiles(t, dir, "openapi.yaml")
	require.Len(t, docs, 1, "the project has one openapi.yaml")
	return docs[0]
}

// openAPISchemas returns the property names of each schema of the OpenAPI
// document at path.
func openAPISchemas(t *testing.T, path string) map[string][]string {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(mustRead(t, path)), &doc))
	schemas := map[string][]string{}
	for name, s := range doc.Components.Schemas {
		for p := range s.Properties {
			schemas[name] = append(schemas[name], p)
		}
	}
	return schemas
}

// openAPIPaths returns the methods of each path of the OpenAPI document at
// path.
func openAPIPaths(t *testing.T, path string) map[string][]string {
	t.Helper()
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(mustRead(t, path)), &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."), "%s: openapi %q", path, doc.OpenAPI)
	paths := map[string][]string{}
	for p, ops := range doc.Paths {
		for method := range ops {
			paths[p] = append(paths[p], method)
		}
	}
	return paths
}

// globFiles returns the files under root whose base name matches pattern,
// leaving out bin/ and hidden directories.
func globFiles(t *testing.T, root, pattern string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if ok, _ := filepath.Match(pattern, d.Name()); ok && d.Type().IsRegular() {
			found = append(found, p)
		}
		return nil
	})
	require.NoError(t, err)
	return found
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    | " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n    | ") + "\n"
}

func slicesContainFunc(s []string, f func(string) bool) bool {
	for _, v := range s {
		if f(v) {
			return true
		}
	}
	return false
}

// runIn runs name with args in dir, with the checkout proxy's environment
// and env, and fails the test with its output.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(append(os.Environ(), "GOFLAGS=-mod=mod"), localPerfgen(t).Env...), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s in %s:\n%s", name, strings.Join(args, " "), dir, out)
	return string(out)
}

var (
	installOnce sync.Once
	installed   string
	installErr  error
)

// installPerfgen installs this checkout as a user installs a perfgen
// release, `go install github.com/perfgen/perfgen@VERSION`, from the
// checkout proxy, and returns the binary's path. Built from a module
// version, it pins that version in the projects it generates, so their
// go:generate hooks (`go tool perfgen`) run the same code.
func installPerfgen(t *testing.T) string {
	t.Helper()
	p := localPerfgen(t)
	installOnce.Do(func() {
		// Inside the proxy's directory, which TestMain removes.
		bin := filepath.Join(p.Dir, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			installErr = err
			return
		}
		cmd := exec.Command("go", "install", generator.PerfgenModule+"@"+p.Version)
		cmd.Dir = bin
		cmd.Env = append(os.Environ(), p.Env...)
		cmd.Env = append(cmd.Env, "GOBIN="+bin, "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			installErr = fmt.Errorf("go install %s@%s: %w\n%s", generator.PerfgenModule, p.Version, err, out)
			return
		}
		installed = filepath.Join(bin, "perfgen")
	})
	require.NoError(t, installErr)
	return installed
}
