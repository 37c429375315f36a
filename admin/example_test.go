package admin_test

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/corvid-io/corvid/admin"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/socketio"
)

// A server instrumented for the admin UI, and a Go client acting as the UI:
// it logs in, reads its session id and the configuration.
func Example() {
	// The Engine.IO traffic (packetsIn, bytesOut...) is counted by an
	// observer set on the server before it is created.
	engine := admin.NewEngineObserver()
	srv := socketio.NewServer(&socketio.ServerOptions{Logger: quiet,
		Engine: &engineio.ServerOptions{Observer: engine}})
	adm, err := admin.Instrument(srv, &admin.Options{
		Engine: engine,
		Auth: func(user, password string) bool {
			// Compare with a bcrypt hash in real code.
			return user == "admin" && subtle.ConstantTimeCompare([]byte(password), []byte("changeit")) == 1
		},
	})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	defer adm.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := &socketio.ClientOptions{}
	opts.Auth = map[string]string{"username": "admin", "password": "changeit"}
	ui, err := socketio.NewClientSocket(ts.URL+"/admin", opts)
	if err != nil {
		panic(err)
	}
	defer ui.Manager().Close()
	session := make(chan string, 1)
	config := make(chan []string, 1)
	ui.On("session", func(args socketio.Args, _ socketio.AckFunc) {
		var id string
		_ = args.Decode(0, &id)
		session <- id
	})
	ui.On("config", func(args socketio.Args, _ socketio.AckFunc) {
		var c struct {
			SupportedFeatures []string `json:"supportedFeatures"`
		}
		_ = args.Decode(0, &c)
		config <- c.SupportedFeatures
	})
	if err := ui.Connect(ctx); err != nil {
		panic(err)
	}
	fmt.Println("session id length:", len(<-session))
	fmt.Println("features:", <-config)
	// Output:
	// session id length: 16
	// features: [EMIT JOIN LEAVE DISCONNECT MJOIN MLEAVE MDISCONNECT AGGREGATED_EVENTS ALL_EVENTS]
}
