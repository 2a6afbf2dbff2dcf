package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	skippedFile := fs.String("skipped", "", "write the skipped tests to this file (replacing it)")
	list := fs.Bool("list", false, "print the skipped tests recorded in the files given as arguments, one line per reason, and exit")
	listAfter := fs.Bool("list-skipped", false, "after the run, print its skipped tests, one line per reason")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		var skips []skip
		for _, f := range fs.Args() {
			s, err := readSkips(f)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				fmt.Fprintf(stderr, "testreport: %v\n", err)
				return 1
			}
			skips = append(skips, s...)
		}
		printSkips(stdout, skips)
		return 0
	}
	r := newReport(stdout)
	if err := r.read(stdin); err != nil {
		fmt.Fprintf(stderr, "testreport: %v\n", err)
		return 1
	}
	if *skippedFile != "" {
		if err := writeSkips(*skippedFile, r.skips); err != nil {
			fmt.Fprintf(stderr, "testreport: %v\n", err)
			return 1
		}
	}
	if *listAfter {
		printSkips(stdout, r.skips)
	}
	switch {
	case r.failed:
		return 1
	case r.packages == 0:
		fmt.Fprintln(stderr, "testreport: no test results on stdin (did go test start?)")
		return 1
	}
	return 0
}

// event is one line of `go test -json` (cmd/test2json), build events
// included.
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

// skip is one skipped test and the reason it gave.
type skip struct {
	Package, Test, Reason string
}

type report struct {
	out      io.Writer
	buf      map[string][]string // package + test → output not yet printed
	skips    []skip
	failed   bool
	packages int
}

func newReport(out io.Writer) *report {
	return &report{out: out, buf: map[string][]string{}}
}

func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event: go itself speaking; pass it on.
			fmt.Fprintf(r.out, "%s\n", line)
			continue
		}
		r.handle(e)
	}
	return sc.Err()
}

func (r *report) handle(e event) {
	key := e.Package + " " + e.Test
	switch e.Action {
	case "build-output":
		fmt.Fprint(r.out, e.Output)
	case "build-fail":
		r.failed = true
	case "output":
		if e.Test == "" {
			// The package's own lines: "ok  pkg 1.2s", "FAIL pkg", output
			// from outside any test. A bare PASS is what -v adds.
			if e.Output != "PASS\n" {
				fmt.Fprint(r.out, e.Output)
			}
			return
		}
		r.buf[key] = append(r.buf[key], e.Output)
	case "pass":
		if e.Test == "" {
			r.packages++
		}
		delete(r.buf, key)
	case "skip":
		if e.Test == "" {
			r.packages++
			return
		}
		r.skips = append(r.skips, skip{Package: e.Package, Test: e.Test, Reason: skipReason(r.buf[key])})
		delete(r.buf, key)
	case "fail":
		r.failed = true
		if e.Test != "" {
			r.flush(key)
			return
		}
		r.packages++
		// A package that fails outside a finished test (a panic, the
		// timeout): what its running tests printed explains it.
		var keys []string
		for k := range r.buf {
			if strings.HasPrefix(k, e.Package+" ") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			r.flush(k)
		}
	}
}

// flush prints a test's output as plain go test would, without the lines
// only -v shows.
func (r *report) flush(key string) {
	for _, l := range r.buf[key] {
		if strings.HasPrefix(l, "=== ") || strings.HasPrefix(strings.TrimSpace(l), "--- PASS") {
			continue
		}
		fmt.Fprint(r.out, l)
	}
	delete(r.buf, key)
}

var logPrefix = regexp.MustCompile(`^\s*[\w.-]+\.go:\d+: `)

// skipReason finds the message of t.Skip in a skipped test's output: the
// last logged line before "--- SKIP", without its file:line prefix.
func skipReason(lines []string) string {
	reason := ""
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "--- SKIP") {
			break
		}
		if logPrefix.MatchString(l) {
			reason = strings.TrimSpace(logPrefix.ReplaceAllString(l, ""))
		}
	}
	if reason == "" {
		return "skipped without a reason"
	}
	return reason
}

func writeSkips(path string, skips []skip) error {
	var b strings.Builder
	for _, s := range skips {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", s.Package, s.Test, strings.ReplaceAll(s.Reason, "\t", " "))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func readSkips(path string) ([]skip, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []skip
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s: malformed line %q", path, line)
		}
		out = append(out, skip{Package: f[0], Test: f[1], Reason: f[2]})
	}
	return out, nil
}

// printSkips prints one line per reason: the reason, how many tests, and
// where.
func printSkips(w io.Writer, skips []skip) {
	if len(skips) == 0 {
		fmt.Fprintln(w, "\nEvery test ran; none was skipped.")
		return
	}
	type group struct {
		reason string
		tests  int
		pkgs   []string
	}
	byReason := map[string]*group{}
	var order []string
	for _, s := range skips {
		g, ok := byReason[s.Reason]
		if !ok {
			g = &group{reason: s.Reason}
			byReason[s.Reason] = g
			order = append(order, s.Reason)
		}
		g.tests++
		if pkg := shortPackage(s.Package); !contains(g.pkgs, pkg) {
			g.pkgs = append(g.pkgs, pkg)
		}
	}
	fmt.Fprintf(w, "\nNot run (%d skipped tests), one line per reason:\n", len(skips))
	for _, reason := range order {
		g := byReason[reason]
		noun := "tests"
		if g.tests == 1 {
			noun = "test"
		}
		fmt.Fprintf(w, "  SKIP %s [%d %s in %s]\n", g.reason, g.tests, noun, strings.Join(g.pkgs, ", "))
	}
}

// shortPackage drops the module path prefix shared by the repository's
// packages.
func shortPackage(pkg string) string {
	const module = "github.com/gainsight-scim-bridge/gainsight-scim-bridge/"
	if rest, ok := strings.CutPrefix(pkg, module); ok {
		return rest
	}
	if pkg == strings.TrimSuffix(module, "/") {
		return "."
	}
	return pkg
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
