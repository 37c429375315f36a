package helper_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/corvid-io/corvid/helper"
)

// TestRoomsBound: the client-driven joins of a socket stop at
// MaxRoomsPerSocket (the default and user rooms count, its own does not); a
// request over the bound joins nothing, and one of more rooms than the bound
// is refused before ValidateRoom.
func TestRoomsBound(t *testing.T) {
	var validated atomic.Int64
	h, url := newServer(t, &helper.ServerOptions{
		MaxRoomsPerSocket: 6, // io-default, io-notification, user:alice + 3
		ValidateRoom: func(ctx context.Context, c *helper.Client, rooms []string) ([]string, error) {
			validated.Add(int64(len(rooms)))
			return rooms, nil
		},
	})
	c, _ := newClient(t, url, "tok-alice", nil)
	connectAuth(t, c)
	ctx := ctx10(t)
	if got, err := c.JoinRoomsAck(ctx, "a", "b", "a"); err != nil || !slices.Equal(got, []string{"a", "b", "a"}) {
		t.Fatalf("JoinRoomsAck(a, b, a) = %v, %v", got, err)
	}
	if got, err := c.JoinRoomsAck(ctx, "c", "d"); err != nil || len(got) != 0 {
		t.Fatalf("JoinRoomsAck(c, d) over the bound = %v, %v; want refused", got, err)
	}
	if got, err := c.JoinRoomsAck(ctx, "b", "c", "io-default"); err != nil || len(got) != 3 {
		t.Fatalf("JoinRoomsAck(b, c, io-default) to the bound = %v, %v", got, err)
	}
	validated.Store(0)
	many := make([]string, 7)
	for i := range many {
		many[i] = "m" + strconv.Itoa(i)
	}
	if got, err := c.JoinRoomsAck(ctx, many...); err != nil || len(got) != 0 {
		t.Fatalf("JoinRoomsAck(7 rooms) = %v, %v; want refused", got, err)
	}
	if n := validated.Load(); n != 0 {
		t.Fatalf("ValidateRoom saw %d rooms of a request over the bound", n)
	}
	rooms := h.Client(c.ID()).Info().Rooms
	if len(rooms) != 7 || slices.Contains(rooms, "d") || slices.Contains(rooms, "m0") {
		t.Fatalf("rooms %v, want own, 3 default/user and a, b, c", rooms)
	}
	// Leaving makes room again.
	if _, err := c.LeaveRoomsAck(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.JoinRoomsAck(ctx, "d"); err != nil || len(got) != 1 {
		t.Fatalf("JoinRoomsAck(d) after a leave = %v, %v", got, err)
	}

	t.Run("unlimited", func(t *testing.T) {
		_, url := newServer(t, &helper.ServerOptions{
			MaxRoomsPerSocket: -1,
			ValidateRoom: func(ctx context.Context, c *helper.Client, rooms []string) ([]string, error) {
				return rooms, nil
			},
		})
		c, _ := newClient(t, url, "tok-alice", nil)
		connectAuth(t, c)
		many := make([]string, helper.DefaultMaxRoomsPerSocket+10)
		for i := range many {
			many[i] = "u" + strconv.Itoa(i)
		}
		if got, err := c.JoinRoomsAck(ctx10(t), many...); err != nil || len(got) != len(many) {
			t.Fatalf("JoinRoomsAck(%d rooms) unlimited = %d rooms, %v", len(many), len(got), err)
		}
	})
	t.Run("default", func(t *testing.T) {
		_, url := newServer(t, &helper.ServerOptions{
			ValidateRoom: func(ctx context.Context, c *helper.Client, rooms []string) ([]string, error) {
				return rooms, nil
			},
		})
		c, _ := newClient(t, url, "tok-alice", nil)
		connectAuth(t, c)
		many := make([]string, helper.DefaultMaxRoomsPerSocket-3) // + 3 default/user rooms
		for i := range many {
			many[i] = "u" + strconv.Itoa(i)
		}
		if got, err := c.JoinRoomsAck(ctx10(t), many...); err != nil || len(got) != len(many) {
			t.Fatalf("JoinRoomsAck(%d rooms) = %d rooms, %v", len(many), len(got), err)
		}
		if got, err := c.JoinRoomsAck(ctx10(t), "one-more"); err != nil || len(got) != 0 {
			t.Fatalf("JoinRoomsAck past the default bound = %v, %v; want refused", got, err)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestClientLogsBounded: 300 authenticate packets out of place and 300
// refused joins of a long room name (100 KB from the client) give a few log
// lines, not one per packet, and never the room name whole.
func TestClientLogsBounded(t *testing.T) {
	var buf syncBuffer
	_, url := newServer(t, &helper.ServerOptions{
		Logger: slog.New(slog.NewTextHandler(&buf, nil)),
	})
	c, _ := newClient(t, url, "tok-alice", nil)
	connectAuth(t, c)
	ctx := ctx10(t)
	long := strings.Repeat("r", 300)
	for range 300 {
		if err := c.Socket().Emit(helper.EventAuthenticate, map[string]any{"token": "tok-alice"}); err != nil {
			t.Fatal(err)
		}
		if err := c.JoinRooms(long); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.JoinRoomsAck(ctx, long); err != nil { // barrier: handled in order
		t.Fatal(err)
	}
	out := buf.String()
	auth, join := strings.Count(out, "authenticate ignored"), strings.Count(out, "join refused")
	if auth == 0 || join == 0 {
		t.Fatalf("no log lines (%d, %d): %q", auth, join, out)
	}
	if auth > 12 || join > 12 {
		t.Fatalf("%d authenticate and %d join lines for 300 packets each: not rate-limited", auth, join)
	}
	if strings.Contains(out, long) {
		t.Fatal("a room name logged whole")
	}
	t.Logf("%d bytes of log for %d bytes of packets (%d + %d lines)", len(out), 300*(len(long)+40), auth, join)
}
