package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/corvid-io/corvid/admin"
	"github.com/corvid-io/corvid/socketio"
)

// The admin UI (npm @socket.io/admin-ui) on the /admin namespace, off by
// default:
//
//	CORVID_ADMIN_PASSWORD=... go run ./cmd/server -admin
//
// then open http://localhost:3000/admin-ui/ and log in as admin (-admin-user)
// with that password, server URL http://localhost:3000.
var (
	adminOn     = flag.Bool("admin", false, "serve the admin UI's protocol on /admin (password from $CORVID_ADMIN_PASSWORD) and its files on /admin-ui/")
	adminUser   = flag.String("admin-user", "admin", "admin UI user name")
	adminNoAuth = flag.Bool("admin-noauth", false, "admin UI without a password (development only)")
	adminUIDir  = flag.String("admin-ui", "", "directory of the admin UI's files (default: conformance/node_modules/@socket.io/admin-ui/ui/dist when present)")
)

// adminEngineObserver returns the observer that counts the Engine.IO
// traffic for the admin UI when -admin is set (to set on the server before
// it is created, and to pass to mountAdmin), else nil.
func adminEngineObserver() *admin.EngineObserver {
	if !*adminOn {
		return nil
	}
	return admin.NewEngineObserver()
}

// mountAdmin instruments srv for the admin UI when -admin is set, with
// engine (adminEngineObserver) the server's Engine.IO observer; the
// returned func stops it.
func mountAdmin(mux *http.ServeMux, srv *socketio.Server, engine *admin.EngineObserver, log *slog.Logger) (func(), error) {
	if !*adminOn {
		return func() {}, nil
	}
	opts := &admin.Options{NoAuth: *adminNoAuth, Engine: engine}
	if pw := os.Getenv("CORVID_ADMIN_PASSWORD"); pw != "" {
		// Compare digests in constant time.
		want := sha256.Sum256([]byte(*adminUser + "\x00" + pw))
		opts.Auth = func(user, password string) bool {
			got := sha256.Sum256([]byte(user + "\x00" + password))
			return subtle.ConstantTimeCompare(got[:], want[:]) == 1
		}
	} else if !*adminNoAuth {
		return nil, errors.New("-admin needs $CORVID_ADMIN_PASSWORD (or -admin-noauth)")
	}
	adm, err := admin.Instrument(srv, opts)
	if err != nil {
		return nil, err
	}
	dir := *adminUIDir
	if dir == "" {
		dir = filepath.Join("conformance", "node_modules", "@socket.io", "admin-ui", "ui", "dist")
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err == nil {
		mux.Handle("/admin-ui/", http.StripPrefix("/admin-ui/", admin.UIHandler(dir)))
		log.Info("admin UI", "files", dir, "at", "/admin-ui/")
	} else {
		log.Warn("admin UI files not found: the /admin namespace is served, not the page", "dir", dir)
	}
	return func() { _ = adm.Close() }, nil
}
