package adapter_test

import (
	"context"
	"fmt"
	"sort"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/parser"
)

// printNamespace is a minimal adapter.Namespace: it prints what it is asked to
// deliver. A socketio.Namespace plays this role in a server.
type printNamespace struct{ *nopNamespace }

func (printNamespace) Encode(p *parser.Packet) ([]parser.Message, error) {
	return []parser.Message{{Data: []byte(p.Event)}}, nil
}

func (printNamespace) Deliver(id string, msgs []parser.Message, _ *adapter.Flags) bool {
	fmt.Printf("%s <- %s\n", id, msgs[0].Data)
	return true
}

// The in-memory adapter keeps the rooms index and selects the targets of a
// broadcast: the sockets in any of the rooms, minus those in an except room.
func ExampleNewMemory() {
	a, _ := adapter.NewMemory(printNamespace{&nopNamespace{}})
	ctx := context.Background()
	_ = a.AddAll(ctx, "s1", []string{"s1", "blue"})
	_ = a.AddAll(ctx, "s2", []string{"s2", "blue", "muted"})
	_ = a.AddAll(ctx, "s3", []string{"s3", "red"})

	p := &parser.Packet{Type: parser.Event, Event: "hello"}
	_ = a.Broadcast(ctx, p, &adapter.BroadcastOptions{Rooms: []string{"blue", "red"}, Except: []string{"muted"}})

	rooms, _ := a.Rooms(ctx)
	sort.Strings(rooms)
	fmt.Println(rooms)
	// Unordered output:
	// s1 <- hello
	// s3 <- hello
	// [blue muted red s1 s2 s3]
}
