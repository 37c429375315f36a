package socketio

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkBroadcast1000 broadcasts one event to 1,000 local sockets: one
// encode, the same bytes queued on every session.
func BenchmarkBroadcast1000(b *testing.B) { benchBroadcast(b, 1000) }

// BenchmarkBroadcast10 is BenchmarkBroadcast1000 with 10 sockets: the
// allocations per broadcast are the same (none per target).
func BenchmarkBroadcast10(b *testing.B) { benchBroadcast(b, 10) }

func benchBroadcast(b *testing.B, sockets int) {
	srv := newTestServer(b, nil)
	connectMany(b, srv, sockets)
	nsp := srv.Of("/")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := nsp.Emit("tick", 1, "two"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBroadcastRoom1000 broadcasts to a room of 1,000 of 2,000 sockets,
// except one room.
func BenchmarkBroadcastRoom1000(b *testing.B) {
	srv := newTestServer(b, nil)
	_, ss := connectMany(b, srv, 2000)
	for i, s := range ss {
		if i%2 == 0 {
			s.Join("even")
		}
		if i%100 == 0 {
			s.Join("muted")
		}
	}
	op := srv.Of("/").To("even").Except("muted")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := op.Emit("tick", 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmitWithAck measures a server emit with ack and its answer, through
// the connection's reader.
func BenchmarkEmitWithAck(b *testing.B) {
	srv := newTestServer(b, nil)
	cs, ss := connectMany(b, srv, 1)
	cs[0].sess.mu.Lock()
	cs[0].sess.autoAck = true
	cs[0].sess.mu.Unlock()
	s := ss[0]
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.EmitWithAck(ctx, "q", 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJoinLeave joins and leaves a room.
func BenchmarkJoinLeave(b *testing.B) {
	srv := newTestServer(b, nil)
	_, ss := connectMany(b, srv, 1000)
	rooms := make([]string, 100)
	for i := range rooms {
		rooms[i] = "room-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		s := ss[i%len(ss)]
		r := rooms[i%len(rooms)]
		_ = s.Join(r)
		_ = s.Leave(r)
		i++
	}
}

// BenchmarkJoinLeaveManyRooms leaves and joins again one room of a socket
// already in 10 to 100,000 rooms, with MaxRoomsPerSocket checked on each
// join: the cost per operation does not grow with the rooms it is in.
func BenchmarkJoinLeaveManyRooms(b *testing.B) {
	for _, n := range []int{10, 1_000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			srv := newTestServer(b, &ServerOptions{MaxRoomsPerSocket: n + 1})
			_, ss := connectMany(b, srv, 1)
			s := ss[0]
			rooms := make([]string, n)
			for i := range rooms {
				rooms[i] = "room-" + strconv.Itoa(i)
			}
			// Straight into the index: the point is the cost once in them.
			if err := s.nsp.adapter.AddAll(context.Background(), s.id, rooms); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				r := rooms[i%n]
				_ = s.Leave(r)
				if err := s.Join(r); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
