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

// TestGrowQueued: bytes known to wait in the kernel are room taken at once,
// never past the declared size, and a buffer with room is left alone.
func TestGrowQueued(t *testing.T) {
	b := make([]byte, GrowMin)
	if nb := grow(b, 64<<10, 63<<10); cap(nb) != 64<<10 || len(nb) != GrowMin {
		t.Fatalf("grew to %d/%d, want all 64 KiB at once", len(nb), cap(nb))
	}
	if nb := grow(b, 64<<10, 1<<20); cap(nb) != 64<<10 {
		t.Fatalf("grew to %d past the declared 64 KiB", cap(nb))
	}
	if nb := grow(b, 64<<10, 10); cap(nb) != 4*GrowMin {
		t.Fatalf("grew to %d; a few queued bytes keep the fourfold step", cap(nb))
	}
	if nb := grow(b[:10], 64<<10, 1<<20); cap(nb) != GrowMin {
		t.Fatal("a buffer with room grew")
	}
}
