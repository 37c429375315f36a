package bcrypt

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// A hash made by npm bcryptjs (the reference's library), cost 4, of "changeit".
const bcryptjsHash = "$2a$04$FKiAyBtjDqf7qQAzms9rj.7MUX4HDyeElgPwoIv2hipZn.KoD9C4m"

func TestCheck(t *testing.T) {
	own, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		hash, user, pw string
		want           bool
	}{
		{bcryptjsHash, "admin", "changeit", true},
		{bcryptjsHash, "admin", "changeit!", false},
		{bcryptjsHash, "root", "changeit", false},
		{string(own), "admin", "s3cret", true},
		{string(own), "admin", "", false},
	} {
		check, err := Check("admin", c.hash)
		if err != nil {
			t.Fatal(err)
		}
		if got := check(c.user, c.pw); got != c.want {
			t.Errorf("check(%q, %q) against %s = %v, want %v", c.user, c.pw, c.hash, got, c.want)
		}
	}
	if _, err := Check("admin", "plain text"); err != ErrBadHash {
		t.Fatalf("Check with a bad hash: %v", err)
	}
}
