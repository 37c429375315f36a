package ws

import "testing"

// TestGrow: a read buffer filled byte run after byte run never holds
// more than 8 times what it received (or 2*GrowMin), ends at the
// declared size exactly, and copies O(1) bytes per byte received.
func TestGrow(t *testing.T) {
	for _, need := range []int{1, 100, 2 * GrowMin, 2*GrowMin + 1, 5000, 65550, 999_014} {
		var b []byte
		copied := 0
		for len(b) < need {
			old := cap(b)
			b = Grow(b, need)
			if cap(b) != old {
				copied += len(b)
			}
			if len(b) == cap(b) {
				t.Fatalf("need %d: no room at %d", need, len(b))
			}
			if c := cap(b); c > need || c > max(8*len(b), 2*GrowMin) {
				t.Fatalf("need %d: capacity %d holding %d bytes", need, c, len(b))
			}
			b = b[:cap(b)] // the read fills the room
		}
		if cap(b) != need {
			t.Fatalf("need %d: ended at capacity %d", need, cap(b))
		}
		if copied > need {
			t.Fatalf("need %d: copied %d bytes", need, copied)
		}
	}
}
