package conformance

// Interop of package helper with the seed system itself: the npm package
// @venizia/ignis-helpers 0.0.7 (its SocketIOClientHelper against our Go
// ServerHelper, and our Go ClientHelper against its SocketIOServerHelper,
// which needs Redis).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/helper"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

var helperQuiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// helperTokenAuth accepts the handshake auth {token: "tok-<user>"}.
func helperTokenAuth(ctx context.Context, req *helper.AuthRequest) (*helper.Identity, error) {
	var auth struct {
		Token string `json:"token"`
	}
	if v, ok := req.Handshake.Auth.(interface{ Decode(any) error }); ok {
		_ = v.Decode(&auth)
	}
	user, ok := strings.CutPrefix(auth.Token, "tok-")
	if !ok || user == "" {
		return nil, &helper.AuthError{Message: "bad token"}
	}
	return &helper.Identity{UserID: user}, nil
}

func helperLine(t *testing.T, p *testutil.NodeProcess, prefix string) string {
	t.Helper()
	return strings.TrimPrefix(p.WaitLine(t, prefix, 15*time.Second), prefix)
}

// helperWaitCount waits until at least n stdout lines start with prefix.
func helperWaitCount(t *testing.T, p *testutil.NodeProcess, prefix string, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c := 0
		for _, l := range p.Lines() {
			if strings.HasPrefix(l, prefix) {
				c++
			}
		}
		if c >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lines %q, want %d; output:\n%s", c, prefix, n, strings.Join(p.Lines(), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func helperEventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The seed's client helper against our ServerHelper.
func TestHelperIgnisClientToGoServer(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			h, err := helper.NewServerHelper(context.Background(), &helper.ServerOptions{
				Logger:       helperQuiet,
				SocketIO:     &socketio.ServerOptions{Logger: helperQuiet},
				Authenticate: helperTokenAuth,
				PingInterval: 100 * time.Millisecond,
				ValidateRoom: func(ctx context.Context, c *helper.Client, rooms []string) ([]string, error) {
					var ok []string
					for _, r := range rooms {
						if strings.HasPrefix(r, "public-") {
							ok = append(ok, r)
						}
					}
					return ok, nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(h)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				h.Shutdown(ctx)
				ts.Close()
			})

			p := testutil.StartNode(t, "conformance/node/helper_ignis_client.js", t.TempDir(), ts.URL, "tok-alice", tr, "public-a", "private-b")
			id := helperLine(t, p, "OUT connected ")
			var auth helper.AuthenticatedEvent
			if err := json.Unmarshal([]byte(helperLine(t, p, "OUT authenticated ")), &auth); err != nil || auth.ID != id {
				t.Fatalf("authenticated %+v (%v), want id %s", auth, err, id)
			}
			if _, err := time.Parse(time.RFC3339Nano, auth.Time); err != nil {
				t.Fatalf("authenticated time %q: %v", auth.Time, err)
			}
			helperWaitCount(t, p, "OUT ping {\"time\":", 2) // at authentication, then every interval

			helperEventually(t, "join public-a", func() bool {
				c := h.Client(id)
				return c != nil && slices.Contains(c.Info().Rooms, "public-a")
			})
			ci := h.Client(id).Info()
			if ci.State != helper.StateAuthenticated || ci.UserID != "alice" || slices.Contains(ci.Rooms, "private-b") ||
				!slices.Contains(ci.Rooms, helper.RoomDefault) || !slices.Contains(ci.Rooms, "user:alice") {
				t.Fatalf("server view %+v", ci)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, s := range []struct {
				dest  helper.Destination
				topic string
			}{{helper.ToSocket(id), "direct"}, {helper.ToRoom("public-a"), "room"}, {helper.ToUser("alice"), "user"}} {
				type payload struct {
					Topic string `json:"topic"`
					N     int    `json:"n"`
				}
				if err := h.Send(ctx, s.dest, s.topic, payload{s.topic, 0}); err != nil {
					t.Fatal(err)
				}
				if got := helperLine(t, p, "OUT msg "+s.topic+" "); got != `{"topic":"`+s.topic+`","n":0}` {
					t.Fatalf("%s: got %s", s.topic, got)
				}
			}
			if err := h.Broadcast(ctx, "all", "everyone"); err != nil {
				t.Fatal(err)
			}
			if got := helperLine(t, p, "OUT msg all "); got != `"everyone"` {
				t.Fatalf("broadcast got %s", got)
			}

			// A refused client gets the notice, then the disconnection.
			bad := testutil.StartNode(t, "conformance/node/helper_ignis_client.js", t.TempDir(), ts.URL, "nope", tr)
			helperLine(t, bad, "OUT disconnected ")
			var seen []string
			for _, l := range bad.Lines() {
				if strings.HasPrefix(l, "OUT unauthenticated") || strings.HasPrefix(l, "OUT disconnected") {
					seen = append(seen, l)
				}
			}
			want := []string{"OUT unauthenticated bad token", "OUT disconnected io server disconnect"}
			if !slices.Equal(seen, want) {
				t.Fatalf("refused client saw %q, want %q", seen, want)
			}
		})
	}
}

// Our client helper against the seed's server helper (Redis adapter and
// emitter, as the seed runs).
func TestHelperGoClientToIgnisServer(t *testing.T) {
	rs := testutil.StartRedis(t)
	port := testutil.FreePort(t)
	p := testutil.StartNode(t, "conformance/node/helper_ignis_server.js", t.TempDir(), strconv.Itoa(port), rs.URL(), "2000", "100")
	p.WaitLine(t, "OUT ready", 20*time.Second)
	base := "http://127.0.0.1:" + strconv.Itoa(port)

	ctl := func(path string, q url.Values) []byte {
		t.Helper()
		res, err := http.Get(base + path + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return b
	}

	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			authed := make(chan helper.AuthenticatedEvent, 1)
			c, err := helper.NewClientHelper(&helper.ClientOptions{
				Host:            base,
				Auth:            map[string]string{"token": "tok-alice"},
				Transports:      []string{tr},
				Logger:          helperQuiet,
				OnAuthenticated: func(ev helper.AuthenticatedEvent) { authed <- ev },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			msgs := make(chan string, 16)
			for _, topic := range []string{"direct", "room", "user"} {
				helper.Subscribe(c, topic, func(v map[string]any) { msgs <- fmt.Sprint(topic, " ", v["n"]) })
			}
			pings := make(chan helper.PingEvent, 16)
			helper.Subscribe(c, helper.EventPing, func(v helper.PingEvent) { pings <- v })

			if err := c.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.Authenticate(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if ev := <-authed; ev.ID != c.ID() {
				t.Fatalf("authenticated %+v, want id %s", ev, c.ID())
			}
			for range 2 {
				select {
				case pg := <-pings:
					if _, err := time.Parse(time.RFC3339Nano, pg.Time); err != nil {
						t.Fatalf("ping %+v", pg)
					}
				case <-ctx.Done():
					t.Fatal("no ping")
				}
			}
			if err := c.JoinRooms("public-a", "private-b"); err != nil {
				t.Fatal(err)
			}
			var rooms []string
			helperEventually(t, "join public-a on the seed server", func() bool {
				rooms = nil
				json.Unmarshal(ctl("/ctl/rooms", url.Values{"id": {c.ID()}}), &rooms)
				return slices.Contains(rooms, "public-a")
			})
			if slices.Contains(rooms, "private-b") || !slices.Contains(rooms, "user:alice") || !slices.Contains(rooms, helper.RoomDefault) {
				t.Fatalf("rooms on the seed server %v", rooms)
			}
			for i, s := range []struct{ dest, topic string }{{c.ID(), "direct"}, {"public-a", "room"}, {"user:alice", "user"}} {
				ctl("/ctl/send", url.Values{"dest": {s.dest}, "topic": {s.topic}, "data": {fmt.Sprintf(`{"n":%d}`, i+1)}})
				select {
				case m := <-msgs:
					if want := fmt.Sprint(s.topic, " ", i+1); m != want {
						t.Fatalf("got %q, want %q", m, want)
					}
				case <-ctx.Done():
					t.Fatalf("no %s message", s.topic)
				}
			}
			args, err := c.EmitWithAck(ctx, "echo", "hi")
			if err != nil {
				t.Fatal(err)
			}
			if v, err := helper.Decode[map[string]string](args, 0); err != nil || v["echo"] != "hi" {
				t.Fatalf("echo ack %v, %v", v, err)
			}
			if err := c.LeaveRooms("public-a"); err != nil {
				t.Fatal(err)
			}
			helperEventually(t, "leave public-a", func() bool {
				rooms = nil
				json.Unmarshal(ctl("/ctl/rooms", url.Values{"id": {c.ID()}}), &rooms)
				return len(rooms) > 0 && !slices.Contains(rooms, "public-a")
			})

			// Refused: the seed disconnects (its notice goes through Redis and is
			// usually lost behind the disconnection).
			disc := make(chan socketio.DisconnectReason, 1)
			bad, err := helper.NewClientHelper(&helper.ClientOptions{
				Host: base, Auth: map[string]string{"token": "nope"}, Transports: []string{tr}, Logger: helperQuiet,
				OnDisconnected: func(r socketio.DisconnectReason) { disc <- r },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer bad.Close()
			if err := bad.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			err = bad.Authenticate(ctx, nil)
			var ae *helper.AuthError
			if !errors.Is(err, helper.ErrNotConnected) && !errors.As(err, &ae) {
				t.Fatalf("refused Authenticate = %v", err)
			}
			if r := <-disc; r != socketio.ReasonIOServerDisconnect {
				t.Fatalf("refused client disconnected with %q", r)
			}
			if bad.State() != helper.StateUnauthorized {
				t.Fatalf("refused client state %v", bad.State())
			}
		})
	}
}
