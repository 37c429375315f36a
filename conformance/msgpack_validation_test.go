package conformance

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
)

// mpValidationCases are messages for the msgpack parser's decoder. diverge is
// empty when npm socket.io-msgpack-parser 3.0 and we must agree (both accept
// with the same type, namespace and id, or both refuse); otherwise it says why
// we refuse what Node accepts.
var mpValidationCases = []struct {
	name    string
	hex     string
	diverge string
}{
	{"event", "83a47479706502a46461746195a568656c6c6f01a374776fc40301020381a16192c3c0a36e7370a12f", ""},
	{"truncated", "83a4", ""},
	{"trailing bytes", "82a47479706501a36e7370a12f00", ""},
	{"unused byte c1", "c1", ""},
	{"not a map", "9102", ""},
	{"no type", "81a36e7370a12f", ""},
	{"nil type", "82a474797065c0a36e7370a12f", ""},
	{"type 5", "82a47479706505a36e7370a12f", ""},
	{"type -1", "82a474797065ffa36e7370a12f", ""},
	{"type 1.5", "82a474797065cb3ff8000000000000a36e7370a12f", ""},
	{"type string", "82a474797065a131a36e7370a12f", ""},
	{"type -0.0", "82a474797065cb8000000000000000a36e7370a12f", ""},
	{"type float32 1", "82a474797065ca3f800000a36e7370a12f", ""},
	{"no nsp", "81a47479706501", ""},
	{"nsp number", "82a47479706501a36e737001", ""},
	{"nsp undefined", "82a47479706501a36e7370d40000", ""},
	{"nsp invalid utf-8", "82a47479706501a36e7370a22fff", ""},
	{"empty nsp", "82a47479706501a36e7370a0", ""},
	{"map count too big", "83a47479706501a36e7370a12f", ""},
	{"disconnect with data", "83a47479706501a46461746180a36e7370a12f", ""},
	{"disconnect with nil data", "83a47479706501a464617461c0a36e7370a12f", ""},
	{"disconnect with undefined data", "83a47479706501a464617461d40000a36e7370a12f", ""},
	{"connect with map", "83a47479706500a46461746181a3736964a161a36e7370a12f", ""},
	{"connect without data", "82a47479706500a36e7370a12f", ""},
	{"connect with array", "83a47479706500a46461746190a36e7370a12f", ""},
	{"connect with nil", "83a47479706500a464617461c0a36e7370a12f", ""},
	{"connect with string", "83a47479706500a464617461a178a36e7370a12f", ""},
	{"connect error without data", "82a47479706504a36e7370a12f", ""},
	{"connect error number", "83a47479706504a46461746101a36e7370a12f", ""},
	{"connect error string", "83a47479706504a464617461a178a36e7370a12f", ""},
	{"connect error map", "83a47479706504a46461746181a76d657373616765a178a36e7370a12f", ""},
	{"event without data", "82a47479706502a36e7370a12f", ""},
	{"event with map", "83a47479706502a46461746180a36e7370a12f", ""},
	{"event numeric name", "83a47479706502a4646174619201c3a36e7370a12f", ""},
	{"ack with string", "83a47479706503a464617461a161a36e7370a12f", ""},
	{"ack empty", "84a26964cd012ca47479706503a46461746190a36e7370a12f", ""},
	{"client ack order", "84a47479706503a26964cd012ca4646174619181a178cb3ff8000000000000a36e7370a12f", ""},
	{"id string", "84a47479706503a46461746190a26964a131a36e7370a12f", ""},
	{"id fraction", "84a47479706503a46461746190a26964cb3ff8000000000000a36e7370a12f", ""},
	{"id nil", "84a47479706503a46461746190a26964c0a36e7370a12f", ""},
	{"id undefined", "84a47479706503a46461746190a26964d40000a36e7370a12f", ""},
	{"id float", "84a474797065cb4008000000000000a46461746190a26964cb4000000000000000a36e7370a12f", ""},
	{"id uint64", "84a47479706503a46461746190a26964cf0000000100000000a36e7370a12f", ""},
	{"extra keys", "84a47479706501a36e7370a12fa178c0aa6174746163686d656e7400", ""},
	{"repeated key", "83a47479706502a47479706501a36e7370a12f", ""},
	{"bin keys", "82c4047479706501c4036e7370a12f", ""},
	{"timestamp in data", "83a47479706502a46461746192a174d6ff00000001a36e7370a12f", ""},
	{"legacy undefined in data", "83a47479706502a46461746192a175d40000a36e7370a12f", ""},
	{"event empty", "83a47479706502a46461746190a36e7370a12f", "an EVENT needs a name (as in socket.io-parser)"},
	{"event bool name", "83a47479706502a46461746191c3a36e7370a12f", "an EVENT name must be a string or number (as in socket.io-parser)"},
	{"reserved event", "83a47479706502a46461746191a7636f6e6e656374a36e7370a12f", "reserved event names are refused (as in socket.io-parser)"},
	{"id negative", "84a47479706503a46461746190a26964ffa36e7370a12f", "Packet.ID is unsigned"},
	{"id 1e20", "84a47479706503a46461746190a26964cb4415af1d78b58c40a36e7370a12f", "Packet.ID is a uint64"},
	{"array key", "83a47479706501a36e7370a12f93000000c0", "array, map and extension keys are refused"},
	{"deep data", "83a47479706502a464617461" + strings.Repeat("91", 120) + "c0" + "a36e7370a12f", "nesting is limited to 100 levels"},
}

// TestMsgpackValidationMatchesNode feeds the same messages to npm
// socket.io-msgpack-parser's Decoder and to ours: both accept (with the same
// type, namespace and id) or both refuse, except for the documented
// divergences, where we refuse and Node accepts.
func TestMsgpackValidationMatchesNode(t *testing.T) {
	hexes := make([]string, len(mpValidationCases))
	for i, c := range mpValidationCases {
		hexes[i] = c.hex
	}
	file := filepath.Join(t.TempDir(), "inputs.json")
	data, _ := json.Marshal(hexes)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	node := testutil.StartNode(t, "conformance/node/msgpack_validate.js", file)
	node.WaitLine(t, "done", 60*time.Second)
	results := map[int][]string{}
	for _, line := range node.Lines() {
		f := strings.SplitN(line, " ", 7)
		if len(f) < 3 || f[0] != "result" {
			continue
		}
		i, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		results[i] = f[2:]
	}
	for i, c := range mpValidationCases {
		node, ok := results[i]
		if !ok {
			t.Errorf("%s: no result from Node", c.name)
			continue
		}
		b, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p, goErr := parser.Msgpack().NewDecoder().Add(parser.Message{Binary: true, Data: b})
		nodeOK := node[0] == "ok"
		if c.diverge != "" {
			if !nodeOK || goErr == nil {
				t.Errorf("%s: expected Node to accept and us to refuse (%s); Node %v, Go %v", c.name, c.diverge, node, goErr)
			}
			continue
		}
		if nodeOK != (goErr == nil) {
			t.Errorf("%s: Node %v, Go %v", c.name, node, goErr)
			continue
		}
		if !nodeOK {
			continue
		}
		if len(node) < 4 {
			t.Errorf("%s: short Node result %v", c.name, node)
			continue
		}
		var nsp string
		if err := json.Unmarshal([]byte(node[2]), &nsp); err != nil {
			t.Errorf("%s: Node nsp %q: %v", c.name, node[2], err)
		}
		wantID, hasID := node[3], node[3] != "-"
		gotID := "-"
		if p.HasID {
			gotID = strconv.FormatUint(p.ID, 10)
		}
		if node[1] != strconv.Itoa(int(p.Type)) || nsp != p.Namespace || (hasID != p.HasID) || wantID != gotID {
			t.Errorf("%s: Node type %s nsp %q id %s; Go %v %q %s", c.name, node[1], nsp, wantID, p.Type, p.Namespace, gotID)
		}
	}
}
