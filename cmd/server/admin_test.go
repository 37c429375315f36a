package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/corvid-io/corvid/admin"
	"github.com/corvid-io/corvid/socketio"
)

// TestAdminEngineStats: with -admin, the demo's server counts its Engine.IO
// traffic for the admin UI (packetsIn, bytesIn... in server_stats).
func TestAdminEngineStats(t *testing.T) {
	on, noAuth := *adminOn, *adminNoAuth
	*adminOn, *adminNoAuth = true, true
	t.Cleanup(func() { *adminOn, *adminNoAuth = on, noAuth })

	engine := adminEngineObserver()
	app, err := newChat(context.Background(), quiet, chatConfig{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	app.routes(mux, []byte("// client"))
	closeAdmin, err := mountAdmin(mux, app.h.Server(), engine, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closeAdmin()
		app.shutdown(ctx)
		ts.Close()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := &socketio.ClientOptions{}
	o.DisableReconnection = true
	ui, err := socketio.NewClientSocket(ts.URL+"/admin", o)
	if err != nil {
		t.Fatal(err)
	}
	defer ui.Manager().Close()
	stats := make(chan admin.ServerStats, 4)
	ui.On("server_stats", func(args socketio.Args, _ socketio.AckFunc) {
		var st admin.ServerStats
		if args.Decode(0, &st) == nil {
			select {
			case stats <- st:
			default:
			}
		}
	})
	if err := ui.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-stats:
		// The admin's own CONNECT came in before the stats were built.
		seen := map[string]int{}
		for _, e := range st.AggregatedEvents {
			seen[e.Type] += e.Count
		}
		if seen["packetsIn"] < 1 || seen["bytesIn"] < 1 || seen["rawConnection"] < 1 {
			t.Fatalf("server_stats aggregated %v: no Engine.IO counts", seen)
		}
	case <-ctx.Done():
		t.Fatal("no server_stats")
	}
}
