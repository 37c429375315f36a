package socketio

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
)

var errFactory = errors.New("redis down")

// closeFails is the in-memory adapter whose Close reports an error.
type closeFails struct{ adapter.Adapter }

func (c closeFails) Close(ctx context.Context) error {
	c.Adapter.Close(ctx)
	return errors.New("close failed")
}

// A failing adapter factory is the caller's error: no namespace runs on a
// silently substituted adapter.
func TestAdapterFactoryError(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	factory := func(ns adapter.Namespace) (adapter.Adapter, error) {
		if failing.Load() && ns.Name() != "/ok" {
			return nil, errFactory
		}
		return adapter.NewMemory(ns)
	}
	opts := &ServerOptions{Adapter: factory, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv, err := New(opts)
	var ae *AdapterError
	if srv != nil || !errors.As(err, &ae) || ae.Namespace != "/" || !errors.Is(err, errFactory) {
		t.Fatalf("New: %v %v", srv, err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Fatal("NewServer did not panic")
			}
		}()
		NewServer(opts)
	}()

	failing.Store(false)
	srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	failing.Store(true)
	if n, err := srv.Namespace("admin"); n != nil || !errors.Is(err, errFactory) {
		t.Fatalf("Namespace: %v %v", n, err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Fatal("Of did not panic")
			}
		}()
		srv.Of("/admin")
	}()
	if n, err := srv.Namespace("/ok"); n == nil || err != nil {
		t.Fatalf("a working namespace: %v %v", n, err)
	}
	failing.Store(false)
	if n, err := srv.Namespace("/admin"); n == nil || err != nil {
		t.Fatalf("after the factory recovered: %v %v", n, err)
	}

	// a dynamic child whose adapter fails is refused like an unknown name
	failing.Store(true)
	srv.OfRegexp(regexp.MustCompile(`^/dyn-`)).OnConnection(func(*Socket) {})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = Connect(ctx, hs.URL+"/dyn-1", nil)
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
		t.Fatalf("dynamic child with a failing adapter: %v", err)
	}
}

func TestShutdownReturnsAdapterErrors(t *testing.T) {
	srv := NewServer(&ServerOptions{Adapter: func(ns adapter.Namespace) (adapter.Adapter, error) {
		a, err := adapter.NewMemory(ns)
		return closeFails{a}, err
	}})
	err := srv.Shutdown(context.Background())
	var ae *AdapterError
	if !errors.As(err, &ae) || ae.Namespace != "/" {
		t.Fatalf("Shutdown: %v", err)
	}
}
