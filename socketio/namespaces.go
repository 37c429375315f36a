package socketio

import (
	"slices"
	"strings"
)

// Namespaces returns the namespaces the server holds now (static ones and
// the children of dynamic ones), sorted by name. Tools that observe a whole
// server, such as package admin, use it.
func (s *Server) Namespaces() []*Namespace {
	s.mu.Lock()
	out := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		out = append(out, n)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *Namespace) int { return strings.Compare(a.name, b.name) })
	return out
}
