package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
)

// createOutcome is what one create request was answered.
type createOutcome struct {
	userName string
	status   int    // 0: no answer (the process died first)
	id       string // the id a 201 gave
}

// TestKilledUnderCreateLoadKeepsEveryAcknowledgedUser kills a real bridge
// process with SIGKILL while 32 clients create users (group commit puts
// many of them in each transaction), starts it again on the same SQLite
// file, and checks that every create answered 201 is stored under the id
// it was given, and that no create answered with an error is: neither the
// duplicates refused with 409 nor the invalid users refused with 400.
// Creates that got no answer may be either.
func TestKilledUnderCreateLoadKeepsEveryAcknowledgedUser(t *testing.T) {
	p := newProcessSetup(t, gainsighttest.Tenant{AccessKey: "kill-key"}, "127.0.0.1:0", "", `
log: {level: warn}
`)
	cfgPath, base := p.cfgPath, p.base
	cmd := startProcess(t, cfgPath, base)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	create := func(userName, email string) createOutcome {
		body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"emails":[{"value":%q,"primary":true}]}`, userName, email)
		req, _ := http.NewRequest(http.MethodPost, base+"/Users", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := client.Do(req)
		if err != nil {
			return createOutcome{userName: userName}
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return createOutcome{userName: userName} // cut off mid-answer
		}
		out := createOutcome{userName: userName, status: resp.StatusCode}
		if resp.StatusCode == http.StatusCreated {
			var u struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(raw, &u) != nil || u.ID == "" {
				t.Errorf("create %s: 201 without an id: %s", userName, raw)
			}
			out.id = u.ID
		}
		return out
	}

	// 32 clients create users; every 7th request repeats a userName
	// already acknowledged (409) and every 11th sends an invalid email
	// (400), so refused writes are batched with accepted ones.
	var (
		mu       sync.Mutex
		outcomes []createOutcome
		acked    []string
		next     atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := next.Add(1)
				name, email := fmt.Sprintf("kill-%d@example.com", i), fmt.Sprintf("kill-%d@example.com", i)
				mu.Lock()
				switch {
				case i%7 == 0 && len(acked) > 0:
					name = acked[int(i)%len(acked)]
					email = name
				case i%11 == 0:
					email = "not an email"
				}
				mu.Unlock()
				o := create(name, email)
				mu.Lock()
				outcomes = append(outcomes, o)
				if o.status == http.StatusCreated {
					acked = append(acked, o.userName)
				}
				mu.Unlock()
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 400 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	stop.Store(true)
	wg.Wait()
	client.CloseIdleConnections()

	cmd = startProcess(t, cfgPath, base)
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	stored := listUserIDs(t, base)

	firstID := map[string]string{}
	var created, refused, unanswered int
	for _, o := range outcomes {
		switch {
		case o.status == http.StatusCreated:
			created++
			firstID[o.userName] = o.id
		case o.status == 0:
			unanswered++
		default:
			refused++
		}
	}
	if created < 400 {
		t.Fatalf("only %d creates were acknowledged before the kill; the test proves little", created)
	}
	for name, id := range firstID {
		if got, ok := stored[name]; !ok || got != id {
			t.Errorf("acknowledged %s (id %s) is stored as %q after the restart", name, id, got)
		}
	}
	wantStatus := map[int]bool{http.StatusConflict: true, http.StatusBadRequest: true}
	for _, o := range outcomes {
		if o.status == 0 || o.status == http.StatusCreated {
			continue
		}
		if !wantStatus[o.status] {
			t.Errorf("create %s answered %d", o.userName, o.status)
		}
		// A refused duplicate leaves the acknowledged user alone; a
		// refused invalid user is not stored at all.
		if id, ok := stored[o.userName]; ok && id != firstID[o.userName] {
			t.Errorf("refused create of %s: stored as %s, want the first create's %q", o.userName, id, firstID[o.userName])
		}
	}
	t.Logf("killed after %d acknowledged creates (%d refused, %d unanswered); %d users stored after the restart",
		created, refused, unanswered, len(stored))
}

// listUserIDs pages through every user of the bridge at base and returns
// their ids by userName.
func listUserIDs(t *testing.T, base string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for start := 1; ; start += 200 {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, fmt.Sprintf("%s/Users?startIndex=%d&count=200", base, start), nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			TotalResults int `json:"totalResults"`
			Resources    []struct {
				ID       string `json:"id"`
				UserName string `json:"userName"`
			} `json:"Resources"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(errors.Join(errors.New("list users"), err))
		}
		for _, u := range page.Resources {
			if _, dup := out[u.UserName]; dup {
				t.Errorf("userName %s stored twice", u.UserName)
			}
			out[u.UserName] = u.ID
		}
		if len(page.Resources) == 0 || start+len(page.Resources) > page.TotalResults {
			return out
		}
	}
}
