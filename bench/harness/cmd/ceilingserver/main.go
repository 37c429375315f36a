// Command ceilingserver is the ceiling of the performance harness
// (bench/harness): the least a server can do to answer the harness's clients
// over WebSocket, on github.com/coder/websocket with nothing of our stack. It
// writes pre-encoded frames, keeps no rooms abstraction beyond a map, has no
// adapter, one reader goroutine per connection, direct writes, and one runtime
// timer per connection for pings. It is a yardstick, not a product: it
// understands only the packets the harness sends (see corvidserver for the
// events) and only the websocket transport.
//
//	ceilingserver -addr 127.0.0.1:0
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

const pingInterval = 25 * time.Second

type conn struct {
	ws   *websocket.Conn
	ping *time.Timer
}

type server struct {
	mu    sync.Mutex
	conns map[*conn]struct{}
	rooms map[string]map[*conn]struct{}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	s := &server{conns: map[*conn]struct{}{}, rooms: map[string]map[*conn]struct{}{}}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceilingserver:", err)
		os.Exit(1)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	fmt.Println("listening", ln.Addr().String())
	<-ctx.Done()
	hs.Close()
}

func newID() string {
	var b [15]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("transport") != "websocket" || q.Get("EIO") != "4" {
		http.Error(w, "websocket only", http.StatusBadRequest)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 24)
	room := q.Get("room")
	r = nil
	open := []byte(`0{"sid":"` + newID() + `","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":10000000}`)
	ctx := context.Background()
	if ws.Write(ctx, websocket.MessageText, open) != nil {
		ws.CloseNow()
		return
	}
	c := &conn{ws: ws}
	c.ping = time.AfterFunc(pingInterval, func() {
		if ws.Write(ctx, websocket.MessageText, []byte("2")) == nil {
			c.ping.Reset(pingInterval)
		}
	})
	s.mu.Lock()
	s.conns[c] = struct{}{}
	if room != "" {
		m := s.rooms[room]
		if m == nil {
			m = map[*conn]struct{}{}
			s.rooms[room] = m
		}
		m[c] = struct{}{}
	}
	s.mu.Unlock()
	s.read(c)
	c.ping.Stop()
	s.mu.Lock()
	delete(s.conns, c)
	if room != "" {
		delete(s.rooms[room], c)
		if len(s.rooms[room]) == 0 {
			delete(s.rooms, room)
		}
	}
	s.mu.Unlock()
	ws.CloseNow()
}

var (
	echoPrefix   = []byte(`["echo"`)
	bcastPrefix  = []byte(`["bcast",`)
	toroomPrefix = []byte(`["toroom","`)
	msgPrefix    = []byte(`42["msg",`)
)

// read is the connection's reader: it answers each packet as it arrives.
func (s *server) read(c *conn) {
	ctx := context.Background()
	var binHeader []byte // a BINARY_EVENT "echo" waiting for its attachments
	var binLeft int
	var bins [][]byte
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		if typ == websocket.MessageBinary {
			if binLeft == 0 {
				return
			}
			bins = append(bins, data)
			binLeft--
			if binLeft == 0 {
				if c.ws.Write(ctx, websocket.MessageText, binHeader) != nil {
					return
				}
				for _, b := range bins {
					if c.ws.Write(ctx, websocket.MessageBinary, b) != nil {
						return
					}
				}
				binHeader, bins = nil, nil
			}
			continue
		}
		if len(data) < 2 {
			continue // pong
		}
		switch {
		case data[0] == '4' && data[1] == '0':
			if c.ws.Write(ctx, websocket.MessageText, []byte(`40{"sid":"`+newID()+`"}`)) != nil {
				return
			}
		case data[0] == '4' && data[1] == '2':
			if !s.event(c, data[2:]) {
				return
			}
		case data[0] == '4' && data[1] == '5':
			// 45<n>-<id>["echo",...]: answer 46<n>-<id>[...] and the attachments.
			rest := data[2:]
			dash := bytes.IndexByte(rest, '-')
			if dash < 0 {
				return
			}
			n, err := strconv.Atoi(string(rest[:dash]))
			if err != nil || n <= 0 {
				return
			}
			id, args := splitID(rest[dash+1:])
			if !bytes.HasPrefix(args, echoPrefix) || id == nil {
				continue
			}
			binHeader = append(append(append(append([]byte("46"), rest[:dash+1]...), id...), '['), ackArgs(args)...)
			binLeft = n
		}
	}
}

// splitID splits "<digits>[...]" into the ack id (nil when absent) and the array.
func splitID(b []byte) (id, rest []byte) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 0 {
		return nil, b
	}
	return b[:i], b[i:]
}

// ackArgs returns what follows the event name of ["echo",a,b] ("a,b]"), or "]".
func ackArgs(arr []byte) []byte {
	rest := arr[len(echoPrefix):]
	if len(rest) > 0 && rest[0] == ',' {
		return rest[1:]
	}
	return rest
}

func (s *server) event(c *conn, b []byte) bool {
	ctx := context.Background()
	id, arr := splitID(b)
	switch {
	case bytes.HasPrefix(arr, echoPrefix):
		if id == nil {
			return true
		}
		out := make([]byte, 0, 3+len(id)+len(arr))
		out = append(append(append(append(out, "43"...), id...), '['), ackArgs(arr)...)
		return c.ws.Write(ctx, websocket.MessageText, out) == nil
	case bytes.HasPrefix(arr, bcastPrefix):
		frame := append(append([]byte(nil), msgPrefix...), arr[len(bcastPrefix):]...)
		s.mu.Lock()
		targets := make([]*conn, 0, len(s.conns))
		for t := range s.conns {
			targets = append(targets, t)
		}
		s.mu.Unlock()
		for _, t := range targets {
			t.ws.Write(ctx, websocket.MessageText, frame)
		}
	case bytes.HasPrefix(arr, toroomPrefix):
		rest := arr[len(toroomPrefix):]
		q := bytes.IndexByte(rest, '"')
		if q < 0 || len(rest) < q+2 {
			return false
		}
		room := string(rest[:q])
		frame := append(append([]byte(nil), msgPrefix...), rest[q+2:]...)
		s.mu.Lock()
		targets := make([]*conn, 0, len(s.rooms[room]))
		for t := range s.rooms[room] {
			targets = append(targets, t)
		}
		s.mu.Unlock()
		for _, t := range targets {
			t.ws.Write(ctx, websocket.MessageText, frame)
		}
	}
	return true
}
