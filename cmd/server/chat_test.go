package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/helper"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

func TestMain(m *testing.M) { testutil.LeakCheck(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func startChat(t *testing.T, redisURL, mode string) string {
	t.Helper()
	url, _ := startChatConfig(t, chatConfig{RedisURL: redisURL, RedisMode: mode})
	return url
}

func startChatConfig(t *testing.T, cfg chatConfig) (string, *chat) {
	t.Helper()
	app, err := newChat(context.Background(), quiet, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	app.routes(mux, []byte("// client"))
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.shutdown(ctx)
		ts.Close()
	})
	return ts.URL, app
}

type chatMsg struct {
	From string `json:"from"`
	Room string `json:"room"`
	To   string `json:"to"`
	Text string `json:"text"`
	Name string `json:"name"`
	Data []byte `json:"data"`
}

func login(t *testing.T, ctx context.Context, url, name string) (*helper.ClientHelper, chan string) {
	t.Helper()
	c, err := helper.NewClientHelper(&helper.ClientOptions{Host: url, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	got := make(chan string, 16)
	for _, ev := range []string{"chat", "dm", "announce", "file"} {
		helper.Subscribe(c, ev, func(m chatMsg) {
			got <- ev + " " + m.From + " " + m.Room + m.To + " " + m.Text + m.Name + " " + string(m.Data)
		})
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Authenticate(ctx, map[string]string{"name": name}); err != nil {
		t.Fatal(err)
	}
	if rooms, err := c.JoinRoomsAck(ctx, "lobby", "io-default", "Bad Room"); err != nil || len(rooms) != 1 || rooms[0] != "lobby" {
		t.Fatalf("join = %v, %v", rooms, err)
	}
	return c, got
}

func call(t *testing.T, ctx context.Context, c *helper.ClientHelper, ev string, data any) map[string]any {
	t.Helper()
	args, err := c.EmitWithAck(ctx, ev, data)
	if err != nil {
		t.Fatal(err)
	}
	v, err := helper.Decode[map[string]any](args, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func want(t *testing.T, ch chan string, s string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != s {
			t.Fatalf("got %q, want %q", got, s)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %q", s)
	}
}

func TestChat(t *testing.T) {
	for _, mode := range []string{"memory", "classic", "sharded", "streams"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var urlA, urlB string
			if mode == "memory" {
				urlA = startChat(t, "", "")
				urlB = urlA
			} else {
				rs := testutil.StartRedis(t)
				urlA, urlB = startChat(t, rs.URL(), mode), startChat(t, rs.URL(), mode)
			}
			res, err := http.Get(urlA + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			var health map[string]any
			json.NewDecoder(res.Body).Decode(&health)
			res.Body.Close()
			if health["status"] != "ok" {
				t.Fatalf("healthz %v", health)
			}
			for _, path := range []string{"/", "/socket.io.min.js"} {
				res, err := http.Get(urlA + path)
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("GET %s: %v %v", path, res, err)
				}
				res.Body.Close()
			}

			alice, ga := login(t, ctx, urlA, "alice")
			bob, gb := login(t, ctx, urlB, "bob")
			if r := call(t, ctx, alice, "chat", map[string]string{"room": "lobby", "text": "hi"}); r["ok"] != true {
				t.Fatalf("chat answered %v", r)
			}
			want(t, ga, "chat alice lobby hi ")
			want(t, gb, "chat alice lobby hi ")
			if r := call(t, ctx, bob, "chat", map[string]string{"room": "elsewhere", "text": "x"}); r["error"] == nil {
				t.Fatalf("chat to a room not joined answered %v", r)
			}
			call(t, ctx, bob, "dm", map[string]string{"to": "alice", "text": "psst"})
			want(t, ga, "dm bob alice psst ")
			want(t, gb, "dm bob alice psst ")
			call(t, ctx, alice, "announce", map[string]string{"text": "all"})
			want(t, ga, "announce alice  all ")
			want(t, gb, "announce alice  all ")
			call(t, ctx, alice, "file", map[string]any{"room": "lobby", "name": "f.bin", "data": []byte("\x00\x01bin")})
			want(t, gb, "file alice lobby f.bin \x00\x01bin")
			want(t, ga, "file alice lobby f.bin \x00\x01bin")
			users := call(t, ctx, alice, "who", nil)["users"]
			if b, _ := json.Marshal(users); string(b) != `["alice","bob"]` {
				t.Fatalf("who = %s", b)
			}

			bad, err := helper.NewClientHelper(&helper.ClientOptions{Host: urlA, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer bad.Close()
			if err := bad.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			err = bad.Authenticate(ctx, map[string]string{"name": "no spaces allowed"})
			var ae *helper.AuthError
			if !errors.As(err, &ae) || !strings.HasPrefix(ae.Message, "pick a name") {
				t.Fatalf("bad name = %v", err)
			}
		})
	}
}

// The users online are pushed to every client when they change, across
// nodes, without the clients asking.
func TestChatPresencePush(t *testing.T) {
	for _, mode := range []string{"memory", "classic"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var urlA, urlB string
			if mode == "memory" {
				urlA = startChat(t, "", "")
				urlB = urlA
			} else {
				rs := testutil.StartRedis(t)
				urlA, urlB = startChat(t, rs.URL(), mode), startChat(t, rs.URL(), mode)
			}
			connect := func(url, name string) (*helper.ClientHelper, chan string) {
				c, err := helper.NewClientHelper(&helper.ClientOptions{Host: url, Logger: quiet})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				ch := make(chan string, 64)
				helper.Subscribe(c, "presence", func(p struct {
					Users []string `json:"users"`
				}) {
					ch <- strings.Join(p.Users, ",")
				})
				if err := c.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				if err := c.Authenticate(ctx, map[string]string{"name": name}); err != nil {
					t.Fatal(err)
				}
				return c, ch
			}
			until := func(ch chan string, s string) {
				t.Helper()
				for {
					select {
					case got := <-ch:
						if got == s {
							return
						}
					case <-ctx.Done():
						t.Fatalf("no presence %q pushed", s)
					}
				}
			}
			_, pa := connect(urlA, "alice")
			until(pa, "alice")
			bob, pb := connect(urlB, "bob")
			until(pa, "alice,bob")
			until(pb, "alice,bob")
			bob.Close()
			until(pa, "alice")
		})
	}
}

// -recovery: a page whose connection drops gets its session back (same
// socket id, rooms kept) and authenticates again.
func TestChatRecoveryFlag(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[on], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cfg := chatConfig{}
			if on {
				cfg.Recovery = time.Minute
			}
			url, app := startChatConfig(t, cfg)
			authed := make(chan string, 4)
			c, err := helper.NewClientHelper(&helper.ClientOptions{
				Host: url, Logger: quiet, Reauthenticate: true, AuthPayload: map[string]string{"name": "alice"},
				Manager:         &socketio.ManagerOptions{ReconnectionDelay: 20 * time.Millisecond, ReconnectionDelayMax: 50 * time.Millisecond},
				OnAuthenticated: func(ev helper.AuthenticatedEvent) { authed <- ev.ID },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			first := <-authed
			if _, err := c.JoinRoomsAck(ctx, "lobby"); err != nil {
				t.Fatal(err)
			}
			for app.h.Client(first) == nil || !slices.Contains(app.h.Client(first).Info().Rooms, "lobby") {
				if ctx.Err() != nil {
					t.Fatal("lobby not joined")
				}
				time.Sleep(10 * time.Millisecond)
			}
			app.h.Client(first).Socket().CloseConn()
			var second string
			select {
			case second = <-authed:
			case <-ctx.Done():
				t.Fatal("not authenticated again")
			}
			if got := c.Socket().Recovered(); got != on || (second == first) != on {
				t.Fatalf("recovered %v, id %s then %s; want recovery %v", got, first, second, on)
			}
			if on && !slices.Contains(app.h.Client(second).Info().Rooms, "lobby") {
				t.Fatalf("rooms after recovery %v", app.h.Client(second).Info().Rooms)
			}
		})
	}
}
