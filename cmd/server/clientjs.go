package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
)

// clientVersion is the socket.io-client installed when none is found (the
// version pinned in conformance/package.json).
const clientVersion = "4.8.4"

var distFile = filepath.Join("node_modules", "socket.io-client", "dist", "socket.io.min.js")

// loadClientJS returns the browser bundle of socket.io-client: from path when
// given, else from conformance/node_modules of the enclosing repository, else
// from an npm install it runs into the user's cache directory.
func loadClientJS(ctx context.Context, path string, log *slog.Logger) ([]byte, string, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		return b, path, err
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; {
			p := filepath.Join(dir, "conformance", distFile)
			if b, err := os.ReadFile(p); err == nil {
				return b, p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "corvid", "socket.io-client-"+clientVersion)
	p := filepath.Join(dir, distFile)
	if b, err := os.ReadFile(p); err == nil {
		return b, p, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return nil, "", fmt.Errorf("socket.io-client not found and npm is not installed (install Node.js and npm, or pass -client-js)")
	}
	log.Info("installing socket.io-client with npm", "version", clientVersion, "dir", dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	cmd := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error", "socket.io-client@"+clientVersion)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("npm install socket.io-client: %w", err)
	}
	b, err := os.ReadFile(p)
	return b, p, err
}
