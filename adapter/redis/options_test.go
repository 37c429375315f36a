package redis

import (
	"encoding/hex"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	o, err := (*Options)(nil).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Key != "socket.io" || o.RequestsTimeout != 5*time.Second || o.Mode != Classic || o.QueueSize <= 0 || len(o.UID) != 6 {
		t.Fatalf("defaults %+v", o)
	}
	s, _ := (&Options{Mode: Sharded}).withDefaults()
	if _, err := hex.DecodeString(s.UID); err != nil || len(s.UID) != 16 {
		t.Fatalf("sharded uid %q", s.UID)
	}
	if _, _, err := ParseMode("bogus"); err == nil {
		t.Fatal("ParseMode accepted bogus")
	}
}

// Channel names as Node builds them.
func TestChannelNames(t *testing.T) {
	for got, want := range map[string]string{
		classicChannel("socket.io", "/"):                    "socket.io#/#",
		classicRoomChannel("socket.io", "/admin", "room1"):  "socket.io#/admin#room1#",
		classicPattern("socket.io", "/"):                    "socket.io#/#*",
		classicPattern("k", "/a*b?[c]\\"):                   `k#/a\*b\?\[c\]\\#*`,
		requestChannel("socket.io", "/"):                    "socket.io-request#/#",
		responseChannel("socket.io", "/"):                   "socket.io-response#/#",
		specificResponseChannel("socket.io", "/", "5cFyPU"): "socket.io-response#/#5cFyPU#",
		shardedChannel("p", "/"):                            "p#/#",
		shardedSubChannel("p", "/", "b84be287f6846ac5"):     "p#/#b84be287f6846ac5#",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if !looksLikeASocketID("abcdefghijklmnopqrst") || looksLikeASocketID("room1") {
		t.Fatal("looksLikeASocketID")
	}
}
