package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/gainsight/gainsighttest"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/store/memory"
	bsync "github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/sync"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/bridge/translate"
	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// scenario is one workload: an import of Import users into a tenant of
// Tenant Gainsight users, Matching of them the same people; or, with
// FanOut, a group profile that starts applying to FanOut linked users.
type scenario struct {
	Name     string
	Import   int
	Tenant   int
	Matching int
	FanOut   int
}

// scenarios are the workloads forecast by default.
func scenarios() []scenario {
	return []scenario{
		{Name: "import 10,000 into an empty tenant", Import: 10000},
		{Name: "import 10,000 into 2,000 (500 the same people)", Import: 10000, Tenant: 2000, Matching: 500},
		{Name: "import 50,000 into an empty tenant", Import: 50000},
		{Name: "profile fan-out to 10,000 users", FanOut: 10000},
	}
}

// result is what one scenario cost.
type result struct {
	scenario
	Calls map[string]int
	Total int
	// Target is the most calls the scenario may cost: ceil(N/50) +
	// ceil(M/100) + 3 for an import of N into a tenant of M, and
	// ceil(affected/50) + 1 for a fan-out.
	Target  int
	Elapsed time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sync-forecast", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scale := fs.Float64("scale", 1, "multiply every scenario's user counts by this (a quick run: 0.1)")
	perHour := fs.Int("per-hour", 100, "calls per hour of the forecast budget (Gainsight documents 100)")
	perDay := fs.Int("per-day", 1000, "calls per day of the forecast budget (Gainsight documents 1,000)")
	reserved := fs.Int("reserved-percent", 10, "share of each window kept for urgent work, in percent (gainsight.budget.reservedPercent)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sync-forecast [--scale F] [--per-hour N] [--per-day N] [--reserved-percent P]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *scale <= 0 || *perHour <= 0 || *perDay <= 0 || *reserved < 0 || *reserved > config.MaxReservedPercent {
		fmt.Fprintln(stderr, "sync-forecast: --scale, --per-hour and --per-day must be positive, --reserved-percent 0 to 50")
		return 2
	}
	budget := config.Budget{PerHour: *perHour, PerDay: *perDay, ReservedPercent: *reserved}
	var results []result
	for _, sc := range scenarios() {
		sc = sc.scaled(*scale)
		fmt.Fprintf(stderr, "sync-forecast: %s…\n", sc.Name)
		r, err := forecast(ctx, sc)
		if err != nil {
			fmt.Fprintf(stderr, "sync-forecast: %s: %v\n", sc.Name, err)
			return 1
		}
		results = append(results, r)
	}
	print(stdout, results, budget)
	for _, r := range results {
		if r.Total > r.Target {
			fmt.Fprintf(stderr, "sync-forecast: %s cost %d calls, over its target of %d\n", r.Name, r.Total, r.Target)
			return 1
		}
	}
	return 0
}

// scaled returns sc with its user counts multiplied by f.
func (sc scenario) scaled(f float64) scenario {
	if f == 1 {
		return sc
	}
	n := func(v int) int { return int(float64(v) * f) }
	sc.Import, sc.Tenant, sc.Matching, sc.FanOut = n(sc.Import), n(sc.Tenant), n(sc.Matching), n(sc.FanOut)
	sc.Name += fmt.Sprintf(" (×%g)", f)
	return sc
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// Windows returns the hour and day windows calls need under budget: each
// hour gives perHour less the urgent reserve, each day perDay less its
// reserve; a day's share spent, the rest waits for the next day.
func Windows(calls int, b config.Budget) (hours, days int) {
	hourly := b.PerHour - b.Reserved(b.PerHour)
	daily := b.PerDay - b.Reserved(b.PerDay)
	days = ceilDiv(calls, daily)
	full := (days - 1) * 24 // the whole days before the last
	last := calls - (days-1)*daily
	return full + ceilDiv(last, hourly), days
}

func print(w io.Writer, results []result, b config.Budget) {
	hourly := b.PerHour - b.Reserved(b.PerHour)
	daily := b.PerDay - b.Reserved(b.PerDay)
	fmt.Fprintf(w, "Upstream calls, measured by driving the sync engine against the Gainsight simulator.\n")
	fmt.Fprintf(w, "Windows at %d calls an hour and %d a day (%d and %d less the %d%% kept for urgent work).\n\n",
		hourly, daily, b.PerHour, b.PerDay, b.ReservedPercent)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tlist\tcreate\tupdate\tstatus\tcalls\ttarget\twas\thours\tdays\t")
	for _, r := range results {
		hours, days := Windows(r.Total, b)
		was := "-"
		if r.Import > 0 {
			was = fmt.Sprint(2 * ceilDiv(r.Import, gainsight.MaxBatch)) // a look-up and a create per batch
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%d\t\n", r.Name,
			r.Calls[gainsighttest.OpList], r.Calls[gainsighttest.OpCreate], r.Calls[gainsighttest.OpUpdate],
			r.Calls[gainsighttest.OpStatus], r.Total, r.Target, was, hours, days)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "target: ceil(N/50) + ceil(M/100) + 3 for an import of N users into a tenant of M; ceil(affected/50) + 1 for a fan-out.")
	fmt.Fprintln(w, "was: the calls of a look-up and a create per batch of 50, before tenant snapshots.")
}

// forecast runs one scenario: a simulator seeded with the tenant, the
// Gainsight client without a budget (nothing waits), the memory store and
// the engine, and counts the calls the simulator served for the work.
func forecast(ctx context.Context, sc scenario) (result, error) {
	r := result{scenario: sc}
	tenant := gainsighttest.Tenant{PermissionBundles: []string{"User"}}
	for i := range sc.Tenant {
		name := fmt.Sprintf("existing%06d@example.com", i)
		if i < sc.Matching {
			name = userName(i)
		}
		tenant.Users = append(tenant.Users, map[string]any{"SFDCUserName": name, "Email": name, "Name": "Existing", "LicenseType": "Viewer"})
	}
	sim := gainsighttest.New(tenant)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r, err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	cfg := config.Default()
	cfg.Groups = []config.GroupProfile{{Name: "fan-out", DisplayName: "Fan-out", LicenseType: "Full"}}
	mapper, err := translate.NewMapper(&cfg)
	if err != nil {
		return r, err
	}
	st := memory.New(memory.Options{})
	defer st.Close()
	st.SetPrioritizer(mapper)
	up, err := gainsight.New(gainsight.Options{
		BaseURL: "http://" + ln.Addr().String(), AccessKey: gainsighttest.DefaultAccessKey,
		Logger: zap.NewNop(), Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		return r, err
	}
	eng, err := bsync.New(bsync.Options{
		Store: st, Upstream: up, Planner: func() bsync.Planner { return mapper },
		Logger: zap.NewNop(), Registerer: prometheus.NewRegistry(), Owner: "forecast",
		Lease: time.Hour, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
	})
	if err != nil {
		return r, err
	}
	users := max(sc.Import, sc.FanOut)
	ids := make([]string, 0, users)
	for i := range users {
		u, err := st.CreateUser(ctx, store.User{UserName: userName(i), Emails: []string{userName(i)}, Active: true,
			Doc: map[string]any{"userName": userName(i), "active": true,
				"emails": []any{map[string]any{"value": userName(i), "type": "work", "primary": true}}}})
		if err != nil {
			return r, err
		}
		ids = append(ids, u.ID)
	}
	if sc.FanOut > 0 {
		// The users are in Gainsight already; then the profile's group
		// gains them all.
		if err := drain(ctx, eng, st); err != nil {
			return r, err
		}
	}
	before := sim.Stats()
	start := time.Now()
	if sc.FanOut > 0 {
		if _, err := st.CreateGroup(ctx, store.Group{DisplayName: "Fan-out", Members: ids}, nil); err != nil {
			return r, err
		}
	}
	if err := drain(ctx, eng, st); err != nil {
		return r, err
	}
	r.Elapsed = time.Since(start)
	after := sim.Stats()
	r.Calls = map[string]int{}
	for op, n := range after.Calls {
		r.Calls[op] = n - before.Calls[op]
		r.Total += n - before.Calls[op]
	}
	if sc.FanOut > 0 {
		r.Target = ceilDiv(sc.FanOut, gainsight.MaxBatch) + 1
	} else {
		r.Target = ceilDiv(sc.Import, gainsight.MaxBatch) + ceilDiv(sc.Tenant, 100) + 3
	}
	if got := len(sim.Users()); got != sc.Tenant+sc.Import-sc.Matching && sc.FanOut == 0 {
		return r, fmt.Errorf("gainsight holds %d users, want %d", got, sc.Tenant+sc.Import-sc.Matching)
	}
	return r, nil
}

func userName(i int) string { return fmt.Sprintf("user%06d@example.com", i) }

// drain runs the engine until the dirty set is empty.
func drain(ctx context.Context, eng *bsync.Engine, st store.Store) error {
	for range 100000 {
		if _, err := eng.DrainOnce(ctx); err != nil {
			return err
		}
		n, _, err := st.DirtyStats(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(time.Millisecond) // a retry's backoff
	}
	return errors.New("the dirty set does not drain")
}
