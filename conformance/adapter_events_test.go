package conformance

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/adaptertest"
	"github.com/corvid-io/corvid/internal/testutil"
)

// TestAdapterRoomEvents: the memory adapter's RoomEvents fire the events of
// socket.io-adapter's in-memory Adapter, in the same order, for the same
// sequence of joins and leaves (own rooms, shared rooms, rooms named by
// another socket's id, duplicates, rooms not joined, disconnects).
func TestAdapterRoomEvents(t *testing.T) {
	ops := [][]any{
		{"addAll", "a", []string{"a", "r"}},
		{"addAll", "b", []string{"b", "r", "a", "r"}},
		{"addAll", "c", []string{"x", "c", "y"}},
		{"del", "a", "r"},
		{"del", "a", "nope"},
		{"del", "a", "a"},
		{"addAll", "a", []string{"a"}},
		{"del", "c", "x"},
		{"delAll", "b"},
		{"delAll", "c"},
		{"delAll", "a"},
	}
	js, _ := json.Marshal(ops)
	cmd := exec.Command("node", "conformance/node/adapter_events.js", string(js))
	cmd.Dir = testutil.RepoRoot(t)
	cmd.Env = append(cmd.Environ(), "NODE_PATH="+testutil.NodeModules(t))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	want := strings.TrimSpace(string(out))

	var got [][]string
	f := adapter.NewMemoryWithRoomEvents(adapter.RoomEvents{
		CreateRoom: func(nsp, room string) { got = append(got, []string{"create-room", room}) },
		DeleteRoom: func(nsp, room string) { got = append(got, []string{"delete-room", room}) },
		JoinRoom:   func(nsp, room, id string) { got = append(got, []string{"join-room", room, id}) },
		LeaveRoom:  func(nsp, room, id string) { got = append(got, []string{"leave-room", room, id}) },
	})
	a, err := f(adaptertest.NewFakeNamespace("/"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, op := range ops {
		id := op[1].(string)
		switch op[0] {
		case "addAll":
			_ = a.AddAll(ctx, id, op[2].([]string))
		case "del":
			_ = a.Del(ctx, id, op[2].(string))
		case "delAll":
			_ = a.DelAll(ctx, id)
		}
	}
	b, _ := json.Marshal(got)
	if string(b) != want {
		t.Fatalf("events\n ours: %s\n node: %s", b, want)
	}
	t.Logf("%d events as socket.io-adapter", len(got))
}
