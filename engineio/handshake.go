package engineio

import (
	"net/http"
	"net/url"
	"sync"
)

// handshakeShare keeps what the handshakes of a server's sessions have in
// common, so that an idle session does not hold its own copy: the clients of
// a server send a few distinct URLs (e.g. "/socket.io/?EIO=4&transport=websocket")
// and the same header names and values, but for a few (Sec-WebSocket-Key).
// Both tables are bounded; when one is full it is emptied and filled anew.
type handshakeShare struct {
	mu   sync.Mutex
	urls map[string]sharedURL // by raw query
	strs map[string]string    // header names and values
}

type sharedURL struct {
	u   *url.URL
	q   url.Values
	uri string // u.RequestURI()
}

const (
	// maxSharedURLs bounds the URLs remembered.
	maxSharedURLs = 256
	// maxSharedQuery is the longest raw query shared; a longer one is copied.
	maxSharedQuery = 512
	// maxSharedStrings bounds the header names and values remembered.
	maxSharedStrings = 1024
	// maxSharedString is the longest header value shared.
	maxSharedString = 256
)

// url returns the URL, parsed query and request URI to keep for a handshake
// whose request URL is u: those of an earlier handshake with the same URL, or
// a copy of u and its query, then remembered.
func (h *handshakeShare) url(u *url.URL) sharedURL {
	if u.User != nil || len(u.RawQuery) > maxSharedQuery {
		c := *u
		if u.User != nil {
			uu := *u.User
			c.User = &uu
		}
		return sharedURL{&c, parseQuery(u.RawQuery), c.RequestURI()}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.urls[u.RawQuery]; ok && *e.u == *u {
		return e
	}
	if h.urls == nil || len(h.urls) >= maxSharedURLs {
		h.urls = make(map[string]sharedURL)
	}
	c := *u
	e := sharedURL{&c, parseQuery(u.RawQuery), c.RequestURI()}
	h.urls[u.RawQuery] = e
	return e
}

// header returns a copy of hdr, as hdr.Clone, with the request's host as
// "Host" (unless hdr has one), whose names and values are those remembered
// from earlier handshakes where they are the same.
func (h *handshakeShare) header(hdr http.Header, host string) http.Header {
	if hdr == nil && host == "" {
		return nil
	}
	n := 1
	for _, vs := range hdr {
		n += len(vs)
	}
	all := make([]string, 0, n) // one backing array for every value, as Clone
	out := make(http.Header, len(hdr)+1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := hdr["Host"]; !ok && host != "" {
		all = append(all, h.str(host))
		out["Host"] = all[0:1:1]
	}
	for k, vs := range hdr {
		if vs == nil {
			out[h.str(k)] = nil
			continue
		}
		start := len(all)
		for _, v := range vs {
			if k != "Sec-Websocket-Key" {
				v = h.str(v)
			}
			all = append(all, v)
		}
		out[h.str(k)] = all[start:len(all):len(all)]
	}
	return out
}

// str returns the remembered string equal to s, remembering s if there is
// none; h.mu is held.
func (h *handshakeShare) str(s string) string {
	if len(s) > maxSharedString {
		return s
	}
	if r, ok := h.strs[s]; ok {
		return r
	}
	if h.strs == nil || len(h.strs) >= maxSharedStrings {
		h.strs = make(map[string]string)
	}
	h.strs[s] = s
	return s
}
