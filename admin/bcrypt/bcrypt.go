// Package bcrypt checks the admin UI's password against a bcrypt hash, as
// the reference (@socket.io/admin-ui's auth {type: "basic"}) does. It is a
// module of its own so that the main module does not depend on
// golang.org/x/crypto: pass Check's result as admin.Options.Auth.
package bcrypt

import (
	"crypto/subtle"
	"errors"

	"golang.org/x/crypto/bcrypt"
)

// ErrBadHash is returned by Check for a hash that is not a bcrypt hash.
var ErrBadHash = errors.New("bcrypt: the password hash is not a valid bcrypt hash")

// Check returns a password check for admin.Options.Auth that accepts
// username with the password whose bcrypt hash is hash (as produced by
// bcryptjs, htpasswd -B, or golang.org/x/crypto/bcrypt). Each check costs
// the hash's work factor in CPU.
func Check(username, hash string) (func(user, password string) bool, error) {
	if _, err := bcrypt.Cost([]byte(hash)); err != nil {
		return nil, ErrBadHash
	}
	h := []byte(hash)
	return func(user, password string) bool {
		okUser := subtle.ConstantTimeCompare([]byte(user), []byte(username)) == 1
		okPass := bcrypt.CompareHashAndPassword(h, []byte(password)) == nil
		return okUser && okPass
	}, nil
}
