package bridge_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

// TestListenerLimits: both listeners answer a header block larger than
// listen.maxHeaderBytes with 431 before any authentication, and serve at
// most listen.maxConnections connections at once; the next client is
// served when one of them closes.
func TestListenerLimits(t *testing.T) {
	h := startHarness(t, harnessOpts{configure: func(c *config.Config) {
		c.Listen.MaxHeaderBytes = 8 << 10
		c.Listen.MaxConnections = 3
	}})
	for _, base := range []string{h.scimURL + "/Users", h.adminURL + "/healthz"} {
		req, _ := http.NewRequest(http.MethodGet, base, nil)
		req.Header.Set("X-Filler", strings.Repeat("f", 16<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s with 16 KiB of headers: status %d, want 431", base, resp.StatusCode)
		}
		req.Header.Set("X-Filler", strings.Repeat("f", 4<<10))
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s with 4 KiB of headers: 431", base)
		}
	}

	addr := strings.TrimPrefix(strings.TrimSuffix(h.scimURL, h.cfg.SCIM.BasePath), "http://")
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A request started and never finished holds its connection.
		if _, err := c.Write([]byte("GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n")); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	time.Sleep(100 * time.Millisecond)
	c, err := net.Dial("tcp", addr) // the kernel accepts; the server does not serve it yet
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := http.ReadResponse(br, nil); err == nil {
		t.Fatal("a fourth connection was served while three were held")
	}
	held[0].Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the waiting connection was not served after one closed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
}
