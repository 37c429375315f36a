package socketio

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corvid-io/corvid/internal/testutil"
)

// TestREADMEPrograms builds the complete Go programs of the README (its ```go
// blocks that start a package main) against this module, offline, so that
// the README's code keeps matching the API.
func TestREADMEPrograms(t *testing.T) {
	root := testutil.RepoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var programs []string
	for _, block := range strings.Split(string(readme), "```go\n")[1:] {
		code, _, ok := strings.Cut(block, "\n```")
		if ok && (strings.Contains(code, "\npackage main\n") || strings.HasPrefix(code, "package main\n")) {
			programs = append(programs, code+"\n")
		}
	}
	if len(programs) < 2 {
		t.Fatalf("the README has %d complete Go programs, want the server and the client", len(programs))
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	for i, code := range programs {
		dir := t.TempDir()
		mod := "module readmecheck\n\ngo 1.26\n\nrequire github.com/corvid-io/corvid v0.0.0\n\nreplace github.com/corvid-io/corvid => " + root + "\n"
		for name, data := range map[string]string{"go.mod": mod, "go.sum": string(sum), "main.go": code} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(gobin, "vet", ".") // type-checks and vets, writes no binary
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("README program %d does not build: %v\n%s\n%s", i+1, err, out, code)
		}
	}
}
