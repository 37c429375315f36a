package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/helper"
	"github.com/corvid-io/corvid/socketio"
)

//go:embed page.html
var page []byte

var (
	nameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,24}$`)
	roomRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
)

const (
	maxText = 2000
	maxFile = 256 << 10
)

// The demo's limits, tighter than the libraries' defaults: what one client
// may hold on the server.
const (
	// maxMessage bounds one packet: a file travels in base64 over polling
	// (4/3 of its size) with its JSON around it.
	maxMessage = 2 * maxFile
	// maxRooms bounds the rooms a client may join (besides its own and the
	// default and user rooms); the server never joins it to more than that.
	maxRooms = 50
	// maxSessions bounds the connections the demo holds at once.
	maxSessions = 10_000
)

// presenceDelay gathers the connections and disconnections of this long
// into one presence update: at most one cluster listing and one broadcast
// per node in that time, however many clients come and go.
const presenceDelay = 200 * time.Millisecond

// chat is the demo application over a ServerHelper.
type chat struct {
	h    *helper.ServerHelper
	log  *slog.Logger
	rl   *rateLog
	node string

	presence chan struct{} // a presence update is due (capacity 1)
	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// chatConfig are the demo's settings from its flags.
type chatConfig struct {
	RedisURL  string
	RedisMode string
	// Recovery is the connection state recovery window; 0 turns it off.
	Recovery time.Duration
	// Engine observes the server's Engine.IO sessions (the admin UI's
	// counts with -admin); nil for none.
	Engine engineio.Observer
}

func newChat(ctx context.Context, log *slog.Logger, cfg chatConfig) (*chat, error) {
	b := make([]byte, 3)
	rand.Read(b)
	c := &chat{log: log, rl: newRateLog(log), node: hex.EncodeToString(b), presence: make(chan struct{}, 1), stop: make(chan struct{})}
	sopts := &socketio.ServerOptions{
		Logger:            log,
		MaxRoomsPerSocket: maxRooms + 4,
		Engine:            &engineio.ServerOptions{MaxHTTPBufferSize: maxMessage, MaxSessions: maxSessions, Observer: cfg.Engine},
	}
	if cfg.Recovery > 0 {
		sopts.ConnectionStateRecovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: cfg.Recovery}
	}
	opts := &helper.ServerOptions{
		Identifier:        "chat-" + c.node,
		SocketIO:          sopts,
		MaxRoomsPerSocket: maxRooms + 3, // io-default, io-notification, user:<name>
		Authenticate:      c.authenticate,
		ValidateRoom:      c.validateRoom,
		ClientConnected:   c.clientConnected,
		Logger:            log,
	}
	redisURL, redisMode := cfg.RedisURL, cfg.RedisMode
	if redisURL != "" {
		cl, err := dialCluster(ctx, redisURL, redisMode)
		if err != nil {
			return nil, err
		}
		opts.Cluster = cl
	}
	h, err := helper.NewServerHelper(ctx, opts)
	if err != nil {
		if opts.Cluster != nil {
			opts.Cluster.Close()
		}
		return nil, err
	}
	c.h = h
	c.wg.Add(1)
	go c.presenceLoop()
	return c, nil
}

// touchPresence asks for a presence update (without blocking).
func (c *chat) touchPresence() {
	select {
	case c.presence <- struct{}{}:
	default:
	}
}

// presenceLoop pushes the list of users online to every page when it may
// have changed, instead of pages polling for it.
func (c *chat) presenceLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.presence:
		}
		select {
		case <-c.stop:
			return
		case <-time.After(presenceDelay):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		users, partial := c.users(ctx)
		if err := c.h.Broadcast(ctx, "presence", map[string]any{"users": users, "partial": partial}); err != nil && !errors.Is(err, helper.ErrClosed) {
			c.log.Warn("presence", "err", err)
		}
		cancel()
	}
}

// users lists the authenticated users of the cluster, sorted; partial is
// true when some node did not answer.
func (c *chat) users(ctx context.Context) (users []string, partial bool) {
	list, err := c.h.ClusterClients(ctx)
	seen := map[string]bool{}
	users = []string{}
	for _, ci := range list {
		if ci.State == helper.StateAuthenticated && ci.UserID != "" && !seen[ci.UserID] {
			seen[ci.UserID] = true
			users = append(users, ci.UserID)
		}
	}
	sort.Strings(users)
	return users, err != nil
}

// dialCluster connects to Redis with the adapter of mode: "streams" (Redis
// Streams), else a pub/sub mode as redis.ParseMode reads it ("classic",
// "sharded", ...). The helper closes it at shutdown.
func dialCluster(ctx context.Context, url, mode string) (helper.Cluster, error) {
	if mode == "streams" {
		st, err := redis.DialStreams(ctx, url, nil)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	rc, err := redis.DialMode(ctx, url, mode, nil)
	if err != nil {
		return nil, err
	}
	return rc, nil
}

func (c *chat) shutdown(ctx context.Context) {
	c.stopOnce.Do(func() { close(c.stop) })
	c.wg.Wait()
	if err := c.h.Shutdown(ctx); err != nil {
		c.log.Warn("shutdown", "err", err)
	}
}

func (c *chat) routes(mux *http.ServeMux, clientJS []byte) {
	mux.Handle("/socket.io/", c.h)
	mux.HandleFunc("GET /socket.io.min.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(clientJS)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(page)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": "ok", "node": c.node, "clients": len(c.h.Clients())})
	})
}

// authenticate is the demo login: a user name, from the authenticate
// payload {name} or the handshake's auth {name}. No password: a demo.
func (c *chat) authenticate(ctx context.Context, req *helper.AuthRequest) (*helper.Identity, error) {
	var login struct {
		Name string `json:"name"`
	}
	if req.Payload.Len() > 0 {
		_ = req.Payload.Decode(0, &login)
	}
	if login.Name == "" {
		if v, ok := req.Handshake.Auth.(interface{ Decode(any) error }); ok {
			_ = v.Decode(&login)
		}
	}
	if !nameRe.MatchString(login.Name) {
		return nil, &helper.AuthError{Message: "pick a name of 1 to 24 letters, digits, - or _"}
	}
	return &helper.Identity{UserID: login.Name}, nil
}

// validateRoom lets users join rooms with simple lower-case names, not the
// helper's own rooms.
func (c *chat) validateRoom(ctx context.Context, cl *helper.Client, rooms []string) ([]string, error) {
	var ok []string
	for _, r := range rooms {
		if roomRe.MatchString(r) && !strings.HasPrefix(r, "io-") {
			ok = append(ok, r)
		}
	}
	return ok, nil
}

type chatIn struct {
	Room string `json:"room"`
	To   string `json:"to"`
	Text string `json:"text"`
}

type fileIn struct {
	Room string `json:"room"`
	Name string `json:"name"`
	Data []byte `json:"data"`
}

type chatOut struct {
	From string `json:"from"`
	Room string `json:"room,omitempty"`
	To   string `json:"to,omitempty"`
	Text string `json:"text"`
	Node string `json:"node"`
	Time string `json:"time"`
}

type fileOut struct {
	From string `json:"from"`
	Room string `json:"room"`
	Name string `json:"name"`
	Data []byte `json:"data"`
	Node string `json:"node"`
	Time string `json:"time"`
}

var errNotInRoom = errors.New("join the room first")

func answer(ack socketio.AckFunc, err error) {
	if ack == nil {
		return
	}
	if err != nil {
		ack(map[string]string{"error": err.Error()})
		return
	}
	ack(map[string]bool{"ok": true})
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

func inRoom(s *socketio.Socket, room string) bool {
	for _, r := range s.Rooms() {
		if r == room {
			return true
		}
	}
	return false
}

func (c *chat) clientConnected(cl *helper.Client) {
	user := cl.Identity().UserID
	s := cl.Socket()
	onErr := func(s *socketio.Socket, err error) { c.log.Debug("bad event", "id", s.ID(), "err", err) }
	ctx := s.Context()
	c.rl.info("connection", "client authenticated", "user", user, "id", s.ID(), "recovered", s.Recovered())
	s.OnDisconnect(func(s *socketio.Socket, reason socketio.DisconnectReason) {
		c.rl.info("connection", "client disconnected", "user", user, "id", s.ID(), "reason", string(reason))
		c.touchPresence()
	})
	c.touchPresence()

	helper.On(s, "chat", func(s *socketio.Socket, m chatIn, ack socketio.AckFunc) {
		switch {
		case m.Text == "" || len(m.Text) > maxText:
			answer(ack, errors.New("empty or too long"))
		case !inRoom(s, m.Room):
			answer(ack, errNotInRoom)
		default:
			c.rl.info("message", "chat", "from", user, "room", m.Room, "bytes", len(m.Text))
			answer(ack, c.h.Send(ctx, helper.ToRoom(m.Room), "chat", chatOut{From: user, Room: m.Room, Text: m.Text, Node: c.node, Time: now()}))
		}
	}, onErr)

	helper.On(s, "dm", func(s *socketio.Socket, m chatIn, ack socketio.AckFunc) {
		if m.Text == "" || len(m.Text) > maxText || !nameRe.MatchString(m.To) {
			answer(ack, errors.New("bad direct message"))
			return
		}
		c.rl.info("message", "dm", "from", user, "to", m.To, "bytes", len(m.Text))
		out := chatOut{From: user, To: m.To, Text: m.Text, Node: c.node, Time: now()}
		err := c.h.Send(ctx, helper.ToUser(m.To), "dm", out)
		if err == nil && m.To != user {
			err = c.h.Send(ctx, helper.ToUser(user), "dm", out) // the sender's other tabs
		}
		answer(ack, err)
	}, onErr)

	helper.On(s, "announce", func(s *socketio.Socket, m chatIn, ack socketio.AckFunc) {
		if m.Text == "" || len(m.Text) > maxText {
			answer(ack, errors.New("empty or too long"))
			return
		}
		c.rl.info("message", "announce", "from", user, "bytes", len(m.Text))
		answer(ack, c.h.Broadcast(ctx, "announce", chatOut{From: user, Text: m.Text, Node: c.node, Time: now()}))
	}, onErr)

	helper.On(s, "file", func(s *socketio.Socket, m fileIn, ack socketio.AckFunc) {
		switch {
		case len(m.Data) == 0 || len(m.Data) > maxFile:
			answer(ack, errors.New("empty or too large"))
		case !inRoom(s, m.Room):
			answer(ack, errNotInRoom)
		default:
			c.rl.info("message", "file", "from", user, "room", m.Room, "bytes", len(m.Data))
			answer(ack, c.h.Send(ctx, helper.ToRoom(m.Room), "file", fileOut{From: user, Room: m.Room, Name: m.Name, Data: m.Data, Node: c.node, Time: now()}))
		}
	}, onErr)

	s.On("who", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
		if ack == nil {
			return
		}
		wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		users, partial := c.users(wctx)
		ack(map[string]any{"users": users, "partial": partial})
	})
}
