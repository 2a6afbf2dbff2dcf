// Command testreport reads `go test -json` on stdin and prints what plain
// `go test` prints — one line per package, the output of failed tests and
// build errors — then remembers the tests that were skipped, so `make test`
// can end with one line per reason a test did not run (no PostgreSQL DSN,
// no promtool, …) instead of hiding them in a pass.
//
//	go test -json ./... | testreport -skipped bin/skipped-unit.txt
//	testreport -list bin/skipped-unit.txt bin/skipped-chart.txt
//
// It exits 1 when a test or a build failed, or when no test result came at
// all.
package main
