package conformance

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// Connection state recovery: the Go server every csr_* test talks to.
//
// A fresh socket joins "room-a", gets data {"user": "csr"} and is greeted with
// "hello". After every recoverable disconnection the server emits one "gap"
// round while the client is away: 30 events (round, seq), where seq%5 picks
// the target: 0 the socket itself (Socket.Emit on the old socket), 1 "room-a",
// 2 everybody, 3 everybody except "room-a", 4 "room-b". The client must get
// seq%5 in {0,1,2} once each, in order, then "gap-end". "report" answers the
// socket's rooms, data and Recovered flag; "drop-me" closes the connection
// from the server side.

const csrRoundLen = 30

// csrExpected returns the seq numbers of a round the client must receive.
func csrExpected() []int {
	var out []int
	for i := 0; i < csrRoundLen; i++ {
		if i%5 < 3 {
			out = append(out, i)
		}
	}
	return out
}

type csrServer struct {
	srv    *socketio.Server
	url    string
	rounds atomic.Int64
}

func startCSRServer(t *testing.T, window time.Duration) *csrServer {
	t.Helper()
	cs := &csrServer{}
	srv := socketio.NewServer(&socketio.ServerOptions{
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: window},
	})
	cs.srv = srv
	srv.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			if err := s.Join("room-a"); err != nil {
				t.Errorf("Join: %v", err)
			}
			s.SetData(map[string]any{"user": "csr"})
			s.Emit("hello", "hi")
		}
		s.On("report", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
			rooms := s.Rooms()
			slices.Sort(rooms)
			if ack != nil {
				ack(map[string]any{"rooms": rooms, "data": s.Data(), "recovered": s.Recovered(), "id": s.ID()})
			}
		})
		s.On("drop-me", func(s *socketio.Socket, _ socketio.Args, _ socketio.AckFunc) { s.CloseConn() })
		s.OnDisconnect(func(s *socketio.Socket, reason socketio.DisconnectReason) {
			if reason == socketio.ReasonClientNamespaceDisconnect || reason == socketio.ReasonServerShuttingDown {
				return
			}
			cs.emitRound(s, int(cs.rounds.Add(1)))
		})
	})
	cs.url = testutil.Serve(t, srv, srv.Shutdown).URL
	return cs
}

// emitRound emits one gap round around the disconnected socket s.
func (cs *csrServer) emitRound(s *socketio.Socket, round int) {
	nsp := s.Namespace()
	for i := 0; i < csrRoundLen; i++ {
		var err error
		switch i % 5 {
		case 0:
			err = s.Emit("gap", round, i)
		case 1:
			err = nsp.To("room-a").Emit("gap", round, i)
		case 2:
			err = nsp.Emit("gap", round, i)
		case 3:
			err = nsp.Except("room-a").Emit("gap", round, i)
		case 4:
			err = nsp.To("room-b").Emit("gap", round, i)
		}
		if err != nil {
			panic("csr: emit during the gap: " + err.Error())
		}
	}
	if err := s.Emit("gap-end", round); err != nil {
		panic("csr: gap-end: " + err.Error())
	}
}
