package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/sqlite"
	bsync "github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/sync"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -run %s -update to accept it):\n--- got\n%s\n--- want\n%s", path, t.Name(), got, want)
	}
}

// samplePlan is a plan report with one user of every kind and held users
// in every decision.
func samplePlan() bridge.PlanReport {
	at := time.Date(2026, 3, 4, 9, 30, 0, 0, time.UTC)
	approved, rejected := at.Add(time.Hour), at.Add(2*time.Hour)
	planned := func(p bsync.Planned) bridge.PlannedUser { return bridge.PlannedUser{Planned: p, PlannedAt: at} }
	return bridge.PlanReport{
		Mode: config.ModeShadow,
		Guard: bridge.GuardReport{Enabled: true, MaxUsers: 50, MaxPercent: 10, Window: "1h0m0s", Active: 1000, Limit: 50,
			Counted: 12, WouldHold: 338},
		Planned: 5,
		Counts:  map[string]int{"adopt": 2, "create": 1, "update": 2, "deactivate": 400, "reactivate": 0, "failed": 1, "held": 1},
		Held:    2,
		Users: []bridge.PlannedUser{
			planned(bsync.Planned{UserID: "u-ada", UserName: "ada@example.com", GSID: "1P01ADA", Match: "SFDCUserName",
				Kinds: []bsync.Kind{bsync.KindAdopt, bsync.KindUpdate}, Fields: []bsync.PlannedField{
					{Field: "LicenseType", Old: "Viewer", New: "Full", Sources: []string{"Gainsight Full"}},
					{Field: "Region__gc", Old: []any{"US"}, New: []any{"EU", "US"}, Sources: []string{"Region EU", "Region US"}},
					{Field: "Title", Old: nil, New: "Engineer", Sources: []string{"user"}},
				}}),
			planned(bsync.Planned{UserID: "u-bob", UserName: "bob@example.com", Kinds: []bsync.Kind{bsync.KindCreate},
				Fields: []bsync.PlannedField{
					{Field: "Email", New: "bob@example.com", Sources: []string{"user"}},
					{Field: "LicenseType", New: "Viewer", Sources: []string{"default"}},
				}}),
			planned(bsync.Planned{UserID: "u-cy", UserName: "cy@example.com", GSID: "1P01CY", Match: "Email", Unread: true,
				Kinds: []bsync.Kind{bsync.KindAdopt, bsync.KindUpdate}, Fields: []bsync.PlannedField{
					{Field: "FirstName", New: "Cy", Sources: []string{"user"}},
				}}),
			planned(bsync.Planned{UserID: "u-dan", UserName: "dan@example.com", GSID: "1P01DAN", Deleted: true,
				Kinds: []bsync.Kind{bsync.KindDeactivate}}),
			planned(bsync.Planned{UserID: "u-eve", UserName: "eve@example.com", Kinds: []bsync.Kind{bsync.KindFailed},
				Reason: "user \"eve@example.com\": Division__gc: groups \"East\" and \"West\" set different values"}),
			planned(bsync.Planned{UserID: "u-fay", UserName: "fay@example.com", GSID: "1P01FAY", Kinds: []bsync.Kind{bsync.KindHold},
				Reason: "deactivation held by the mass-deactivation guard since 2026-03-04T08:00:00Z, waiting for approval (scim-bridge guard approve)"}),
		},
		HeldUsers: []bridge.HeldUser{
			{UserID: "u-fay", UserName: "fay@example.com", GSID: "1P01FAY", Held: at.Add(-90 * time.Minute)},
			{UserID: "u-gil", UserName: "gil@example.com", GSID: "1P01GIL", Held: at, ApprovedBy: "it-oncall", Approved: &approved},
			{UserID: "u-hal", UserName: "hal@example.com", Held: at, RejectedBy: "cli:root", Rejected: &rejected},
		},
	}
}

func TestPlanGolden(t *testing.T) {
	full := samplePlan()
	held := samplePlan()
	held.Only, held.Users = bridge.PlanHeld, held.Users[5:]
	creates := samplePlan()
	creates.Only, creates.Users, creates.HeldUsers = "create", creates.Users[1:2], nil
	live := samplePlan()
	live.Mode, live.Guard, live.Planned, live.Counts, live.Users, live.HeldUsers, live.Held =
		config.ModeLive, bridge.GuardReport{Window: "1h0m0s", Limit: -1}, 0, map[string]int{}, nil, nil, 0
	for name, rep := range map[string]bridge.PlanReport{"plan.golden": full, "plan-held.golden": held,
		"plan-create.golden": creates, "plan-live.golden": live} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			printPlan(&out, rep, "config.yaml")
			golden(t, name, out.Bytes())
		})
	}
}

// planStore writes a config file and a SQLite store holding two plans
// and two held users, as a bridge in shadow mode with the guard leaves
// them, and returns the config's path.
func planStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "bridge.db")
	path := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf(`
scim: {tokens: [{name: test, sha256: %q}]}
gainsight: {baseURL: "http://127.0.0.1:1", accessKey: k}
store: {sqlite: {path: %q}}
sync: {mode: shadow, guard: {maxUsers: 5, maxPercent: 0}}
`, config.HashToken("tok"), db)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db, sqlite.Options{Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var plans []store.PlannedUser
	for _, p := range []bsync.Planned{
		{UserID: "u-new", UserName: "new@example.com", Kinds: []bsync.Kind{bsync.KindCreate},
			Fields: []bsync.PlannedField{{Field: "Email", New: "new@example.com", Sources: []string{"user"}}}},
		{UserID: "u-old", UserName: "old@example.com", GSID: "GS-OLD", Kinds: []bsync.Kind{bsync.KindDeactivate}},
	} {
		doc, _ := json.Marshal(p)
		kinds := make([]string, len(p.Kinds))
		for i, k := range p.Kinds {
			kinds[i] = string(k)
		}
		plans = append(plans, store.PlannedUser{UserID: p.UserID, UserName: p.UserName, Kinds: kinds, Priority: store.PriorityNormal, Change: doc})
	}
	if err := st.RecordPlans(ctx, plans, nil); err != nil {
		t.Fatal(err)
	}
	ds := []store.Deactivation{{UserID: "u-1", UserName: "one@example.com", GSID: "GS-1"}, {UserID: "u-2", UserName: "two@example.com", GSID: "GS-2"},
		{UserID: "u-3", UserName: "three@example.com", GSID: "GS-3"}}
	if _, err := st.ReserveDeactivations(ctx, store.GuardPolicy{Window: time.Hour, MaxUsers: 1}, time.Now(), ds); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := dispatch(t.Context(), args, testEnv(&out, &errOut))
	return out.String() + errOut.String(), err
}

func TestPlanAndGuardCommands(t *testing.T) {
	path := planStore(t)
	out, err := runCmd(t, "plan", "--config", path)
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	for _, want := range []string{"mode       shadow", "planned    2 users", "new@example.com  create", "Email  - → \"new@example.com\"  from user",
		"old@example.com  deactivate GS-OLD", "held       2 users", "two@example.com", "awaiting"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCmd(t, "plan", "--config", path, "--json", "--only", "deactivate")
	if err != nil {
		t.Fatal(err)
	}
	var rep bridge.PlanReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	if rep.Planned != 2 || rep.Counts["create"] != 1 || rep.Counts["deactivate"] != 1 || len(rep.Users) != 1 ||
		rep.Users[0].UserID != "u-old" || rep.Held != 2 || len(rep.HeldUsers) != 0 {
		t.Errorf("plan --json --only deactivate = %+v", rep)
	}
	if _, err := runCmd(t, "plan", "--config", path, "--only", "delete"); !errors.Is(err, errUsage) {
		t.Errorf("plan --only delete: %v", err)
	}

	// A user not held fails the request and decides nothing.
	if _, err := runCmd(t, "guard", "approve", "--config", path, "two@example.com", "nobody"); !errors.Is(err, bridge.ErrNotHeld) {
		t.Errorf("approve with an unknown user: %v", err)
	}
	if _, err := runCmd(t, "guard", "approve", "--config", path); !errors.Is(err, errUsage) {
		t.Errorf("approve nobody: %v", err)
	}
	out, err = runCmd(t, "guard", "approve", "--config", path, "--by", "jane", "TWO@example.com")
	if err != nil || !strings.Contains(out, "approved 1 held deactivations as jane") {
		t.Fatalf("approve: %v\n%s", err, out)
	}
	out, err = runCmd(t, "guard", "reject", "--config", path, "--all", "--by", "jane")
	if err != nil || !strings.Contains(out, "rejected 2 held deactivations") {
		t.Fatalf("reject --all: %v\n%s", err, out)
	}
	out, _ = runCmd(t, "plan", "--config", path, "--only", "held")
	if !strings.Contains(out, "rejected by jane") || strings.Contains(out, "awaiting") {
		t.Errorf("after the decisions:\n%s", out)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(filepath.Dir(path), "bridge.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := st.ListAudit(context.Background(), store.AuditQuery{UserID: "u-2"})
	if err != nil || len(entries) != 2 || entries[1].Op != store.AuditApprove || entries[1].Actor != "jane" || entries[0].Op != store.AuditReject ||
		entries[1].Time.IsZero() || entries[1].Source != store.AuditSourceAdmin {
		t.Errorf("audit trail of the decisions: %+v, %v", entries, err)
	}
	// The decisions marked the users dirty for the bridge to act on.
	if n, _, err := st.DirtyStats(context.Background()); err != nil || n != 2 {
		t.Errorf("dirty after the decisions: %d, %v", n, err)
	}
}
