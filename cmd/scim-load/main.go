package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command's flags.
type options struct {
	bridge      string
	url, token  string
	pid         int
	stores      []string
	postgresDSN string
	sizes       []int
	c, seedC    int
	duration    time.Duration
	warmup      time.Duration
	scenarios   []string
	pprofDir    string
	keep        bool
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("scim-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scim-load [--bridge bin/scim-bridge] [--store sqlite,postgres] [--users 10000,100000] [-c 32] [--duration 10s]")
		fmt.Fprintln(stderr, "       scim-load --url http://HOST/scim/v2 --token TOKEN [--pid PID] [--users N] ...")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.bridge, "bridge", "bin/scim-bridge", "the scim-bridge binary to start, once per store and size, with the demo's configuration")
	fs.StringVar(&o.url, "url", "", "drive the bridge already running at this SCIM base URL instead of starting one")
	fs.StringVar(&o.token, "token", "", "bearer token of the bridge at --url")
	fs.IntVar(&o.pid, "pid", 0, "process id of the bridge at --url, to read its resident memory")
	stores := fs.String("store", "sqlite", "stores to start the bridge on, comma-separated: sqlite, postgres")
	fs.StringVar(&o.postgresDSN, "postgres-dsn", os.Getenv("SCIM_BRIDGE_TEST_POSTGRES_DSN"), "PostgreSQL server for --store postgres (a schema is created and dropped); default $SCIM_BRIDGE_TEST_POSTGRES_DSN")
	sizes := fs.String("users", "10000", "users seeded before the scenarios run, comma-separated: one run per size")
	fs.IntVar(&o.c, "c", 32, "concurrent clients of each scenario")
	fs.IntVar(&o.seedC, "seed-c", 32, "concurrent clients seeding users")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each scenario is measured")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "how long each scenario runs before it is measured")
	names := fs.String("scenarios", "", "scenarios to run, comma-separated (default all): "+strings.Join(scenarioNames(), ", "))
	fs.StringVar(&o.pprofDir, "pprof", "", "write a CPU profile of the bridge during each scenario, and a heap profile after it, to this directory (the started bridge serves /debug/pprof/)")
	fs.BoolVar(&o.keep, "keep", false, "keep the started bridges' directories (config, SQLite file, log)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.stores = splitList(*stores)
	for _, s := range o.stores {
		if s != "sqlite" && s != "postgres" {
			return o, fmt.Errorf("--store: unknown store %q", s)
		}
	}
	for _, s := range splitList(*sizes) {
		n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
		if err != nil || n < 100 {
			return o, fmt.Errorf("--users: %q is not a number of at least 100", s)
		}
		o.sizes = append(o.sizes, n)
	}
	known := map[string]bool{}
	for _, n := range scenarioNames() {
		known[n] = true
	}
	o.scenarios = splitList(*names)
	for _, n := range o.scenarios {
		if !known[n] {
			return o, fmt.Errorf("--scenarios: unknown scenario %q (known: %s)", n, strings.Join(scenarioNames(), ", "))
		}
	}
	if o.c < 1 || o.seedC < 1 {
		return o, errors.New("-c and --seed-c must be at least 1")
	}
	if o.url != "" && o.token == "" {
		return o, errors.New("--url needs --token")
	}
	if len(o.sizes) == 0 || (o.url == "" && len(o.stores) == 0) {
		return o, errors.New("--users and --store must name at least one size and store")
	}
	return o, nil
}

// scenarioNames are the short names --scenarios takes, in run order.
func scenarioNames() []string {
	var out []string
	for _, s := range scenarios() {
		out = append(out, slug(s.name))
	}
	return out
}

// slug is a scenario's short name: "userName eq" → "username-eq".
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// row is one line of the table.
type row struct {
	store string
	users int
	result
}

// seedLine records how long seeding took.
type seedLine struct {
	store   string
	users   int
	elapsed time.Duration
	c       int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "scim-load:", err)
		return 2
	}
	rows, seeds, err := runAll(ctx, o, stderr)
	printTable(stdout, rows, seeds)
	if err != nil {
		fmt.Fprintln(stderr, "scim-load:", err)
		return 1
	}
	for _, r := range rows {
		if r.errors > 0 {
			return 1
		}
	}
	return 0
}

// runAll runs every store and size and returns the table's rows.
func runAll(ctx context.Context, o options, log io.Writer) ([]row, []seedLine, error) {
	var (
		rows  []row
		seeds []seedLine
	)
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return nil, nil, err
		}
	}
	stores := o.stores
	if o.url != "" {
		stores = []string{"external"}
	}
	for _, st := range stores {
		for _, n := range o.sizes {
			r, s, err := runOne(ctx, o, st, n, log)
			rows = append(rows, r...)
			if s.elapsed > 0 {
				seeds = append(seeds, s)
			}
			if err != nil {
				return rows, seeds, fmt.Errorf("%s, %d users: %w", st, n, err)
			}
		}
	}
	return rows, seeds, nil
}

// runOne seeds n users into a bridge on store st (started for the run
// unless --url) and runs the scenarios against it.
func runOne(ctx context.Context, o options, st string, n int, log io.Writer) ([]row, seedLine, error) {
	var (
		t     *target
		admin string
		err   error
	)
	if o.url != "" {
		if t, err = newTarget(o.url, o.token); err != nil {
			return nil, seedLine{}, err
		}
		if o.pid > 0 {
			t.rss = func() int64 { return rssOf(o.pid) }
			t.cpu = func() time.Duration { return cpuOf(o.pid) }
		}
	} else {
		dir, err := os.MkdirTemp("", "scim-load-")
		if err != nil {
			return nil, seedLine{}, err
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
		p, err := startBridge(ctx, startOptions{binary: o.bridge, dir: dir, store: st, dsn: o.postgresDSN, pprof: o.pprofDir != ""})
		if err != nil {
			return nil, seedLine{}, err
		}
		defer func() {
			if err := p.stop(); err != nil {
				fmt.Fprintln(log, "scim-load: stopping the bridge:", err)
			}
		}()
		if t, err = newTarget(p.base, p.token); err != nil {
			return nil, seedLine{}, err
		}
		admin = p.admin
		pid := p.cmd.Process.Pid
		t.rss = func() int64 { return rssOf(pid) }
		t.cpu = func() time.Duration { return cpuOf(pid) }
		fmt.Fprintf(log, "%s: bridge pid %d at %s, log %s\n", st, pid, p.base, p.log)
	}
	defer t.client.closeIdle()
	fmt.Fprintf(log, "%s: seeding %d users (c=%d)...\n", st, n, o.seedC)
	s, took, err := seed(ctx, t, n, o.seedC)
	if err != nil {
		return nil, seedLine{}, err
	}
	sl := seedLine{store: st, users: n, elapsed: took, c: o.seedC}
	fmt.Fprintf(log, "%s: seeded %d users in %.1fs (%.0f/s)\n", st, n, took.Seconds(), float64(n)/took.Seconds())
	if admin != "" {
		waited, quiet, err := settle(ctx, admin)
		switch {
		case err != nil:
			return nil, sl, fmt.Errorf("wait for the sync engine: %w", err)
		case quiet:
			fmt.Fprintf(log, "%s: the store was quiet after %.1fs (the sync engine spent its budget on the new users)\n", st, waited.Seconds())
		default:
			fmt.Fprintf(log, "%s: the store still commits after %.0fs; measuring anyway\n", st, waited.Seconds())
		}
	}
	want := map[string]bool{}
	for _, name := range o.scenarios {
		want[name] = true
	}
	var rows []row
	for _, sc := range scenarios() {
		if len(want) > 0 && !want[slug(sc.name)] {
			continue
		}
		var prof chan error
		if o.pprofDir != "" && admin != "" {
			prof = make(chan error, 1)
			path := filepath.Join(o.pprofDir, fmt.Sprintf("%s-%d-%s.pprof", st, n, slug(sc.name)))
			go func() { prof <- fetchProfile(ctx, admin, t.token, o.warmup, o.duration, path) }()
		}
		c := o.c
		if sc.c > 0 {
			c = sc.c
		}
		r := drive(ctx, t, s, sc, c, o.warmup, o.duration)
		if prof != nil {
			if err := <-prof; err != nil {
				fmt.Fprintln(log, "scim-load: profile:", err)
			}
			heap := filepath.Join(o.pprofDir, fmt.Sprintf("%s-%d-%s.heap", st, n, slug(sc.name)))
			if err := fetch(ctx, admin+"/debug/pprof/heap", t.token, heap); err != nil {
				fmt.Fprintln(log, "scim-load: heap profile:", err)
			}
		}
		fmt.Fprintf(log, "%s %d %-20s %8.0f %s/s  p50 %-8s p99 %-8s max %-8s errors %d  rss %s  cpu/op %s (load %s)\n",
			st, n, sc.name, r.rate(), r.unit, ms(r.p50), ms(r.p99), ms(r.max), r.errors, mib(r.rss), us(r.cpuPerOp()), us(r.selfPerOp()))
		if r.firstErr != nil {
			fmt.Fprintln(log, "  first error:", r.firstErr)
		}
		rows = append(rows, row{store: st, users: n, result: r})
		if ctx.Err() != nil {
			return rows, sl, ctx.Err()
		}
	}
	return rows, sl, nil
}

// fetchProfile saves a CPU profile of the measured part of a scenario.
func fetchProfile(ctx context.Context, admin, token string, warmup, d time.Duration, path string) error {
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
		return ctx.Err()
	}
	secs := max(int(d.Seconds()), 1)
	return fetch(ctx, admin+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), token, path)
}

// fetch saves what GET url answers to path.
func fetch(ctx context.Context, url, token, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func ms(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	}
}

func us(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

func mib(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// thousands formats n with thousands separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// printTable prints the rows as one table, then how long seeding took.
func printTable(w io.Writer, rows []row, seeds []seedLine) {
	if len(rows) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tusers\tscenario\tc\trate\tunit\tp50\tp99\tmax\terrors\tRSS\tCPU/op\tload CPU/op\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s/s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", r.store, thousands(r.users), r.scenario, r.c,
			thousands(int(r.rate()+0.5)), r.unit, ms(r.p50), ms(r.p99), ms(r.max), r.errors, mib(r.rss), us(r.cpuPerOp()), us(r.selfPerOp()))
	}
	_ = tw.Flush()
	for _, s := range seeds {
		fmt.Fprintf(w, "seeding %s: %s users through SCIM creates (c=%d) in %.1fs, %s/s\n", s.store, thousands(s.users), s.c,
			s.elapsed.Seconds(), thousands(int(float64(s.users)/s.elapsed.Seconds()+0.5)))
	}
}
