package postgres

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/postgres/pgtest"
)

// TestLostCommitAnswer: when a batch's connection breaks after its COMMIT
// was sent, the writes are answered with what PostgreSQL says became of
// the transaction: stored when it committed (running them again would
// create the user twice, or refuse it as a duplicate), run again when it
// did not.
func TestLostCommitAnswer(t *testing.T) {
	for _, c := range []struct {
		name    string
		forward bool // the COMMIT reaches PostgreSQL before the cut
	}{
		{"committed, answer lost", true},
		{"connection lost before the commit", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dsn := pgtest.FreshSchema(t)
			u, err := url.Parse(dsn)
			if err != nil || u.Host == "" {
				t.Fatalf("SCIM_BRIDGE_TEST_POSTGRES_DSN must be a URL (postgres://…) here: %v", err)
			}
			p := startCutProxy(t, u.Host)
			u.Host = p.ln.Addr().String()
			s, err := Open(t.Context(), u.String(), Options{Logger: zaptest.NewLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			p.arm(c.forward)
			created, err := s.CreateUser(t.Context(), store.User{UserName: "lost@example.com", Active: true,
				Doc: map[string]any{"userName": "lost@example.com", "active": true}})
			if err != nil {
				t.Fatalf("create: %v; want it stored once and acknowledged", err)
			}
			if n := p.cuts.Load(); n != 1 {
				t.Fatalf("%d connections cut at COMMIT; want 1", n)
			}
			got, err := s.GetUser(t.Context(), created.ID)
			if err != nil || got.UserName != "lost@example.com" {
				t.Fatalf("stored user: %+v, %v", got, err)
			}
			var n int
			if err := s.db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("%d users stored (%v); want 1", n, err)
			}
		})
	}
}

// cutProxy forwards connections to a PostgreSQL server and, once armed,
// cuts the connection that sends the next COMMIT: after forwarding it
// (the transaction commits and its answer is lost) or instead (PostgreSQL
// aborts the transaction when its connection closes).
type cutProxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	armed   bool
	forward bool
	cuts    atomic.Int32
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	var wg sync.WaitGroup
	var conns sync.Map
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(client, true)
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(client)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		conns.Range(func(k, _ any) bool {
			_ = k.(net.Conn).Close()
			return true
		})
		wg.Wait()
	})
	return p
}

// arm makes the proxy cut the next connection that sends COMMIT.
func (p *cutProxy) arm(forward bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed, p.forward = true, forward
}

// take reports whether a COMMIT is to be cut, and how, disarming the proxy.
func (p *cutProxy) take() (cut, forward bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cut, forward, p.armed = p.armed, p.forward, false
	return cut, forward
}

// serve relays one connection, reading the client's messages one by one
// (the protocol's startup messages, then typed ones).
func (p *cutProxy) serve(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		_, _ = io.Copy(client, server)
		_ = client.Close()
	}()
	// Untyped startup messages: SSL or GSS encryption requests, then the
	// startup message itself.
	for {
		msg, err := readMessage(client, false)
		if err != nil {
			return
		}
		if _, err := server.Write(msg); err != nil {
			return
		}
		if code := binary.BigEndian.Uint32(msg[4:8]); code != 80877103 && code != 80877104 {
			break
		}
	}
	for {
		msg, err := readMessage(client, true)
		if err != nil {
			return
		}
		if msg[0] == 'Q' && bytes.EqualFold(bytes.TrimRight(msg[5:], "\x00; "), []byte("COMMIT")) {
			if cut, forward := p.take(); cut {
				p.cuts.Add(1)
				if forward {
					_, _ = server.Write(msg)
				}
				return
			}
		}
		if _, err := server.Write(msg); err != nil {
			return
		}
	}
}

// readMessage reads one protocol message from r: a type byte when typed,
// then its length (which counts itself) and its body.
func readMessage(r io.Reader, typed bool) ([]byte, error) {
	head := 4
	if typed {
		head = 5
	}
	msg := make([]byte, head)
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(msg[head-4:]))
	if n < 4 || n > 1<<24 {
		return nil, errors.New("bad message length")
	}
	msg = append(msg, make([]byte, n-4)...)
	if _, err := io.ReadFull(r, msg[head:]); err != nil {
		return nil, err
	}
	return msg, nil
}
