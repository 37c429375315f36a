package redis

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Channel names, as Node builds them (nsp is the namespace name, e.g. "/").

// classicChannel is the broadcast channel {key}#{nsp}#.
func classicChannel(key, nsp string) string { return key + "#" + nsp + "#" }

// classicRoomChannel is the channel of a broadcast to exactly one room.
func classicRoomChannel(key, nsp, room string) string { return key + "#" + nsp + "#" + room + "#" }

// classicPattern is the PSUBSCRIBE pattern {key}#{nsp}#*, with the glob
// characters of key and nsp escaped (Node does not escape; for ordinary names
// the result is the same).
func classicPattern(key, nsp string) string { return globEscape(classicChannel(key, nsp)) + "*" }

func requestChannel(key, nsp string) string  { return key + "-request#" + nsp + "#" }
func responseChannel(key, nsp string) string { return key + "-response#" + nsp + "#" }
func specificResponseChannel(key, nsp, uid string) string {
	return responseChannel(key, nsp) + uid + "#"
}

// Sharded channels: main {p}#{nsp}#, the response channel of server uid
// {p}#{nsp}#{uid}#, the dynamic room channel {p}#{nsp}#{room}#.
func shardedChannel(key, nsp string) string { return key + "#" + nsp + "#" }
func shardedSubChannel(key, nsp, suffix string) string {
	return key + "#" + nsp + "#" + suffix + "#"
}

// globEscape escapes the Redis glob metacharacters * ? [ ] \.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// looksLikeASocketID is Node's heuristic in the sharded dynamic mode: a room
// of exactly 20 characters is taken for a socket id and published on the
// main channel.
func looksLikeASocketID(room string) bool { return len(room) == 20 }

const uidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomUID6 returns a 6-character id like uid2(6).
func randomUID6() string {
	var b [6]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = uidAlphabet[int(b[i])%len(uidAlphabet)]
	}
	return string(b[:])
}

// randomHex returns n random bytes in hexadecimal, like randomBytes(n).toString("hex").
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
