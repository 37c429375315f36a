package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/corvid-io/corvid/internal/testutil"
)

const module = "github.com/corvid-io/corvid"

// layer is the rule of one package of the module and its subpackages (a
// package takes the rule of the longest prefix that names it).
type layer struct {
	pkg string // module-relative path
	// mayImport lists the layers this one may import (it may always import
	// packages of its own layer). public: every layer that is core and not
	// internal. any: everything.
	mayImport []string
	public    bool
	any       bool
	// core packages import outside the module only the standard library and
	// the dependencies in external (plus github.com/coder/websocket).
	core     bool
	external []string
}

var layers = []layer{
	{pkg: "internal/structfields", core: true},
	{pkg: "internal/msgpack", mayImport: []string{"internal/structfields"}, core: true},
	{pkg: "internal/lograte", core: true},
	// internal/epoll: the epoll set of the pollers (internal/ws) and of the
	// header gate (internal/httpgate).
	{pkg: "internal/epoll", core: true},
	{pkg: "internal/httpgate", mayImport: []string{"internal/epoll"}, core: true},
	{pkg: "parser", mayImport: []string{"internal/msgpack", "internal/structfields"}, core: true},
	// internal/ws: the server's WebSocket connections (our RFC 6455 framing
	// and its pollers, coder/websocket behind the same interface), for
	// engineio only.
	{pkg: "internal/ws", mayImport: []string{"internal/epoll"}, core: true},
	{pkg: "engineio", mayImport: []string{"internal/ws", "internal/httpgate"}, core: true},
	{pkg: "adapter", mayImport: []string{"parser"}, core: true},
	{pkg: "adapter/redis/wire", mayImport: []string{"internal/msgpack", "parser"}, core: true},
	{pkg: "adapter/redis", mayImport: []string{"adapter", "adapter/redis/wire", "parser", "internal/msgpack"},
		core: true, external: []string{"github.com/redis/rueidis"}},
	{pkg: "socketio", mayImport: []string{"engineio", "parser", "adapter", "internal/lograte"}, core: true},
	// helper: the library's public packages, and the log rate limiter it
	// shares with socketio (no Socket.IO internals).
	{pkg: "helper", public: true, mayImport: []string{"internal/lograte"}, core: true},
	// admin: the server side of the admin UI, on the public packages only.
	{pkg: "admin", public: true, core: true},
	{pkg: "metrics", mayImport: []string{"engineio", "socketio", "adapter"}, core: true},

	// Not part of the library: test helpers, tests, commands.
	{pkg: "adapter/adaptertest", mayImport: []string{"adapter", "parser"}},
	{pkg: "internal/testutil"},
	{pkg: "internal/proxy"},
	{pkg: "internal/valuegen", mayImport: []string{"parser"}},
	{pkg: "internal/layering", mayImport: []string{"internal/testutil"}},
	{pkg: "cmd", any: true},
	{pkg: "conformance", any: true},
	{pkg: "fuzz", any: true},
}

// forbiddenDeps are packages a package must not depend on, even indirectly
// (checked on `go list -deps`, which covers non-test code).
var forbiddenDeps = []struct {
	pkg    string   // module-relative; its subpackages too
	deps   []string // import paths; "x/..." is x and every package under it
	reason string
}{
	{"parser", []string{"net", "net/http/..."}, "the parser knows no network"},
	{"engineio", []string{module + "/socketio/...", module + "/parser/...", module + "/adapter/..."}, "engineio knows nothing of Socket.IO"},
	{"adapter", []string{module + "/socketio/...", module + "/engineio/..."}, "an adapter knows no server"},
}

type pkgInfo struct {
	ImportPath string
	Standard   bool
	DepOnly    bool
	Imports    []string
	Deps       []string
	Module     *struct{ Path string }
}

var (
	listOnce sync.Once
	listed   []pkgInfo
	listErr  error
)

// goList returns `go list -deps -json ./...` run at the module root.
func goList(t *testing.T) []pkgInfo {
	t.Helper()
	listOnce.Do(func() {
		cmd := exec.Command("go", "list", "-deps", "-json", "./...")
		cmd.Dir = testutil.RepoRoot(t)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			listErr = errors.New("go list: " + err.Error() + ": " + stderr.String())
			return
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			var p pkgInfo
			if err := dec.Decode(&p); err == io.EOF {
				break
			} else if err != nil {
				listErr = err
				return
			}
			listed = append(listed, p)
		}
	})
	if listErr != nil {
		t.Fatal(listErr)
	}
	if len(listed) == 0 {
		t.Fatal("go list printed no package")
	}
	return listed
}

// rel returns the module-relative path of a module package, and false for
// any other package.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// layerOf returns the rule of a module-relative package path.
func layerOf(r string) (layer, bool) {
	best, found := layer{}, false
	for _, l := range layers {
		if under(r, l.pkg) && (!found || len(l.pkg) > len(best.pkg)) {
			best, found = l, true
		}
	}
	return best, found
}

func modulePackages(t *testing.T) []pkgInfo {
	var out []pkgInfo
	for _, p := range goList(t) {
		if _, ok := rel(p.ImportPath); ok && !p.DepOnly {
			out = append(out, p)
		}
	}
	if len(out) < len(layers)-2 {
		t.Fatalf("go list found %d packages of the module", len(out))
	}
	return out
}

// TestLayers checks each module package's direct imports against its layer.
func TestLayers(t *testing.T) {
	for _, p := range modulePackages(t) {
		r, _ := rel(p.ImportPath)
		l, ok := layerOf(r)
		if !ok {
			t.Errorf("%s has no layer: give it a rule in internal/layering (and ARCHITECTURE.md)", r)
			continue
		}
		for _, imp := range p.Imports {
			if msg := l.check(imp); msg != "" {
				t.Errorf("%s imports %s: %s", r, imp, msg)
			}
		}
	}
}

// check returns why l may not import imp, or "".
func (l layer) check(imp string) string {
	ir, inModule := rel(imp)
	if !inModule {
		if !l.core || !strings.Contains(strings.Split(imp, "/")[0], ".") {
			return "" // the standard library (no dot in its first element), or not core
		}
		if under(imp, "github.com/coder/websocket") {
			return ""
		}
		for _, e := range l.external {
			if under(imp, e) {
				return ""
			}
		}
		return "a core package imports only the standard library and github.com/coder/websocket (rueidis only under adapter/redis)"
	}
	if l.any {
		return ""
	}
	il, ok := layerOf(ir)
	if !ok {
		return "the imported package has no layer"
	}
	if il.pkg == l.pkg {
		return ""
	}
	if l.public {
		if il.core && !under(il.pkg, "internal") || slices.Contains(l.mayImport, il.pkg) {
			return ""
		}
		return "only the public packages of the library may be imported here"
	}
	if slices.Contains(l.mayImport, il.pkg) {
		return ""
	}
	return "layer " + l.pkg + " may import only " + strings.Join(append([]string{"its own packages"}, l.mayImport...), ", ")
}

// TestForbiddenDeps checks what packages must not depend on, even indirectly.
func TestForbiddenDeps(t *testing.T) {
	pkgs := modulePackages(t)
	for _, f := range forbiddenDeps {
		seen := false
		for _, p := range pkgs {
			r, _ := rel(p.ImportPath)
			if !under(r, f.pkg) {
				continue
			}
			seen = true
			for _, d := range p.Deps {
				for _, bad := range f.deps {
					if d == bad || strings.HasSuffix(bad, "/...") && under(d, strings.TrimSuffix(bad, "/...")) {
						t.Errorf("%s depends on %s (%s)", r, d, f.reason)
					}
				}
			}
		}
		if !seen {
			t.Errorf("no package %s", f.pkg)
		}
	}
}

// TestHelperWithoutRueidis: importing helper must not link the Redis client;
// Redis support belongs in a package of its own.
func TestHelperWithoutRueidis(t *testing.T) {
	found := false
	for _, p := range modulePackages(t) {
		if p.ImportPath != module+"/helper" {
			continue
		}
		found = true
		for _, d := range p.Deps {
			if under(d, "github.com/redis/rueidis") {
				t.Errorf("helper depends on %s (through %s)", d, importersOf(t, "github.com/redis/rueidis", p.Deps))
				break
			}
		}
	}
	if !found {
		t.Fatal("no package helper")
	}
}

// importersOf names the packages among deps that import target directly.
func importersOf(t *testing.T, target string, deps []string) string {
	in := make(map[string]bool, len(deps))
	for _, d := range deps {
		in[d] = true
	}
	var out []string
	for _, p := range goList(t) {
		if in[p.ImportPath] && !strings.HasPrefix(p.ImportPath, target) && slices.Contains(p.Imports, target) {
			out = append(out, p.ImportPath)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// TestTestutilOnlyInTests: internal/testutil is for tests; no package's
// non-test code imports it.
func TestTestutilOnlyInTests(t *testing.T) {
	for _, p := range modulePackages(t) {
		if slices.Contains(p.Imports, module+"/internal/testutil") {
			t.Errorf("%s imports internal/testutil outside its tests", p.ImportPath)
		}
	}
}
