package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goTestJSON runs `go test -json` on a throwaway module made of files.
func goTestJSON(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module example.com/m\n\ngo 1.26\n"
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, _ := cmd.Output() // failures are in the events
	return out
}

func TestReportOfARealRun(t *testing.T) {
	stream := goTestJSON(t, map[string]string{
		"ok/ok_test.go": `package ok
import "testing"
func TestFine(t *testing.T) { t.Log("quiet when passing") }
func TestNoDatabase(t *testing.T) { t.Skip("no database: set DB_DSN to run it") }
func TestNoDatabaseEither(t *testing.T) {
	t.Run("sub", func(t *testing.T) { t.Skipf("no database: set %s to run it", "DB_DSN") })
}
`,
		"bad/bad_test.go": `package bad
import "testing"
func TestBroken(t *testing.T) {
	t.Run("part", func(t *testing.T) { t.Errorf("want 2, got 3") })
	t.Run("fine", func(t *testing.T) {})
}
func TestNoTool(t *testing.T) { t.Skip("frob not on PATH") }
`,
		"notests/lib.go": "package notests\n",
	})
	var out bytes.Buffer
	skipped := filepath.Join(t.TempDir(), "skipped.txt")
	code := run([]string{"-skipped", skipped, "-list-skipped"}, bytes.NewReader(stream), &out, &out)
	text := out.String()
	if code != 1 {
		t.Errorf("exit %d, want 1 for a failed test\n%s", code, text)
	}
	for _, want := range []string{
		"ok  \texample.com/m/ok\t",
		"FAIL\texample.com/m/bad\t",
		"want 2, got 3",
		"--- FAIL: TestBroken/part",
		"example.com/m/notests\t[no test files]",
		"Not run (3 skipped tests), one line per reason:",
		"  SKIP no database: set DB_DSN to run it [2 tests in example.com/m/ok]\n",
		"  SKIP frob not on PATH [1 test in example.com/m/bad]\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, lack := range []string{"quiet when passing", "=== RUN", "--- PASS", "TestBroken/fine"} {
		if strings.Contains(text, lack) {
			t.Errorf("output has %q, which plain go test does not print:\n%s", lack, text)
		}
	}
	// The file lists every skipped test; -list groups them again.
	var listed bytes.Buffer
	if code := run([]string{"-list", skipped, filepath.Join(t.TempDir(), "absent.txt")}, nil, &listed, &listed); code != 0 {
		t.Fatalf("-list: exit %d: %s", code, listed.String())
	}
	if !strings.Contains(listed.String(), "  SKIP no database: set DB_DSN to run it [2 tests in example.com/m/ok]") {
		t.Errorf("-list:\n%s", listed.String())
	}
}

func TestReportOfABuildFailure(t *testing.T) {
	stream := goTestJSON(t, map[string]string{
		"broken/broken_test.go": "package broken\nimport \"testing\"\nfunc TestX(t *testing.T) { undefined() }\n",
	})
	var out bytes.Buffer
	if code := run(nil, bytes.NewReader(stream), &out, &out); code != 1 {
		t.Errorf("exit %d, want 1 for a build failure\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "undefined: undefined") {
		t.Errorf("build error not shown:\n%s", out.String())
	}
}

func TestReportOfNothing(t *testing.T) {
	var out bytes.Buffer
	if code := run(nil, strings.NewReader("go: no packages to test\n"), &out, &out); code != 1 {
		t.Errorf("exit %d for no results, want 1", code)
	}
	var none bytes.Buffer
	if code := run([]string{"-list"}, nil, &none, &none); code != 0 || !strings.Contains(none.String(), "none was skipped") {
		t.Errorf("-list with nothing skipped: %d %q", code, none.String())
	}
}
