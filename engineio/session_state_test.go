package engineio

import (
	"strings"
	"testing"
)

// TestSessionStateTransitions checks the table of the session's state
// machine: every state but closed can close, closed is final, the upgrade
// goes polling -> upgrading (-> probed) -> websocket and may fall back to
// polling, and a move the table does not allow panics.
func TestSessionStateTransitions(t *testing.T) {
	allowed := func(from, to sessionState) bool { return sessionTransitions[from]&(1<<to) != 0 }
	for st := statePolling; st < stateClosed; st++ {
		if !allowed(st, stateClosed) {
			t.Errorf("%v cannot close", st)
		}
	}
	for to := statePolling; to <= stateClosed; to++ {
		if allowed(stateClosed, to) {
			t.Errorf("closed -> %v allowed", to)
		}
		if to != stateClosed && (allowed(stateWebSocket, to) || allowed(stateLingering, to)) {
			t.Errorf("websocket or lingering -> %v allowed", to)
		}
	}
	for _, p := range [][2]sessionState{
		{statePolling, stateUpgrading}, {stateUpgrading, stateProbed}, {stateProbed, stateWebSocket},
		{stateUpgrading, stateWebSocket}, {stateUpgrading, statePolling}, {stateProbed, statePolling},
		{statePolling, stateLingering},
	} {
		if !allowed(p[0], p[1]) {
			t.Errorf("%v -> %v not allowed", p[0], p[1])
		}
	}
	if allowed(statePolling, stateWebSocket) {
		t.Error("polling -> websocket without a probe allowed")
	}
	s := &Session{state: stateWebSocket}
	defer func() {
		r := recover()
		if msg, _ := r.(string); !strings.Contains(msg, "websocket -> polling") {
			t.Errorf("recovered %v", r)
		}
	}()
	s.setStateLocked(statePolling)
}
