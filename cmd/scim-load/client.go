package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// conn is one keep-alive HTTP/1.1 connection to the bridge, written to and
// read from directly: a load generator that spends little of the machine
// it shares with the bridge, as wrk or h2load would, instead of net/http's
// client (two goroutines and a header map per request).
type conn struct {
	nc  net.Conn
	r   *bufio.Reader
	buf []byte
}

// rawClient hands out connections to one host, one per concurrent
// request.
type rawClient struct {
	host string // host:port
	mu   sync.Mutex
	idle []*conn
}

func newRawClient(base string) (*rawClient, string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, "", fmt.Errorf("the SCIM base URL must be http://host:port/path, got %q", base)
	}
	return &rawClient{host: u.Host}, u.Path, nil
}

func (c *rawClient) get(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		cn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cn, nil
	}
	c.mu.Unlock()
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", c.host)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}, nil
}

func (c *rawClient) put(cn *conn) {
	c.mu.Lock()
	c.idle = append(c.idle, cn)
	c.mu.Unlock()
}

// closeIdle closes the idle connections.
func (c *rawClient) closeIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cn := range c.idle {
		cn.nc.Close()
	}
	c.idle = nil
}

var errMalformed = errors.New("malformed HTTP response")

// do sends one request and returns the status and the body.
func (c *rawClient) do(ctx context.Context, method, path, token string, body []byte) (int, []byte, error) {
	cn, err := c.get(ctx)
	if err != nil {
		return 0, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = cn.nc.SetDeadline(dl)
	}
	status, resp, keep, err := cn.roundTrip(c.host, method, path, token, body)
	if err != nil {
		cn.nc.Close()
		return 0, nil, err
	}
	out := append([]byte(nil), resp...)
	if keep {
		c.put(cn)
	} else {
		cn.nc.Close()
	}
	return status, out, nil
}

func (cn *conn) roundTrip(host, method, path, token string, body []byte) (status int, resp []byte, keep bool, err error) {
	b := cn.buf[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nAuthorization: Bearer "...)
	b = append(b, token...)
	b = append(b, "\r\nAccept: application/scim+json\r\n"...)
	if body != nil {
		b = append(b, "Content-Type: application/scim+json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	cn.buf = b
	if _, err := cn.nc.Write(b); err != nil {
		return 0, nil, false, err
	}
	line, err := cn.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, false, errMalformed
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, errMalformed
	}
	length, chunked, keep := -1, false, true
	for {
		h, err := cn.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, nil, false, errMalformed
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return 0, nil, false, errMalformed
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			keep = !bytes.EqualFold(v, []byte("close"))
		}
	}
	switch {
	case method == "HEAD" || status == 204 || status == 304:
		return status, nil, keep, nil
	case chunked:
		resp, err = cn.readChunked()
		return status, resp, keep, err
	case length >= 0:
		resp = cn.grow(length)
		_, err = io.ReadFull(cn.r, resp)
		return status, resp, keep, err
	default:
		resp, err = io.ReadAll(cn.r)
		return status, resp, false, err
	}
}

// grow returns a scratch buffer of n bytes after the request in buf.
func (cn *conn) grow(n int) []byte {
	if cap(cn.buf)-len(cn.buf) < n {
		nb := make([]byte, len(cn.buf), len(cn.buf)+n)
		copy(nb, cn.buf)
		cn.buf = nb
	}
	return cn.buf[len(cn.buf) : len(cn.buf)+n]
}

func (cn *conn) readChunked() ([]byte, error) {
	var out []byte
	for {
		line, err := cn.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil || n < 0 {
			return nil, errMalformed
		}
		if n == 0 {
			for { // trailers, then the blank line
				t, err := cn.r.ReadSlice('\n')
				if err != nil {
					return nil, err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return out, nil
				}
			}
		}
		start := len(out)
		out = append(out, make([]byte, n)...)
		if _, err := io.ReadFull(cn.r, out[start:]); err != nil {
			return nil, err
		}
		if _, err := cn.r.Discard(2); err != nil {
			return nil, err
		}
	}
}
