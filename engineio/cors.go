package engineio

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const defaultCORSMethods = "GET,HEAD,PUT,PATCH,POST,DELETE"

// Header values of every CORS answer, shared (net/http only reads them; an
// append to one of these slices, which have no spare capacity, copies it).
var (
	hdrAnyOrigin  = []string{"*"}
	hdrVaryOrigin = []string{"Origin"}
	hdrTrue       = []string{"true"}
)

// allowed reports whether origin may use the server.
func (c *CORSOptions) allowed(origin string) bool {
	if c.AllowOrigin != nil {
		return c.AllowOrigin(origin)
	}
	return slices.Contains(c.Origins, "*") || slices.Contains(c.Origins, origin)
}

// wildcard reports whether the configuration allows any origin by "*".
func (c *CORSOptions) wildcard() bool {
	return c.AllowOrigin == nil && (len(c.Origins) == 0 || slices.Contains(c.Origins, "*"))
}

// apply adds the CORS response headers for r, as the npm cors package does, and
// reports whether r was a preflight request that it answered (204).
func (c *CORSOptions) apply(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	origin := r.Header.Get("Origin")
	switch {
	case c.wildcard():
		h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	default:
		addSharedValue(h, "Vary", hdrVaryOrigin)
		if origin != "" && c.allowed(origin) {
			h["Access-Control-Allow-Origin"] = []string{origin}
		}
	}
	if c.Credentials {
		h["Access-Control-Allow-Credentials"] = hdrTrue
	}
	if len(c.ExposedHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
	}
	if r.Method != http.MethodOptions {
		return false
	}
	methods := defaultCORSMethods
	if len(c.Methods) > 0 {
		methods = strings.Join(c.Methods, ",")
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if len(c.AllowedHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
	} else {
		h.Add("Vary", "Access-Control-Request-Headers")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.Seconds())))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// addSharedValue adds the one value of shared (a package-level slice of
// length and capacity 1, never written) to h's key (canonical): h takes shared
// itself when it has no value yet; otherwise appending copies, so shared is
// never changed.
func addSharedValue(h http.Header, key string, shared []string) {
	if v := h[key]; v == nil {
		h[key] = shared
	} else {
		h[key] = append(v, shared[0])
	}
}
