package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/corvid-io/corvid/internal/ws"
)

// Server is an Engine.IO v4 server: an http.Handler serving the polling and
// WebSocket transports under ServerOptions.Path. Mount it on that path, e.g.
// mux.Handle("/engine.io/", srv).
//
// Each new session runs the handler given to NewServer in its own goroutine; the
// session is closed when the handler returns, unless the handler called
// Session.Receive (push mode).
//
// A polling GET is held until there is something to send, at most about
// PingInterval, so an http.Server's WriteTimeout (and any proxy timeout) must be
// longer than that.
type Server struct {
	opts    *options
	handler func(*Session)
	wsOpts  *ws.Options // of ws.Accept

	mu       sync.Mutex
	sessions map[string]*Session
	closed   atomic.Bool // Shutdown has begun; set under mu, also read without it

	// handshake rate limiter (token bucket), when HandshakeRate is set
	tokens   float64
	refilled time.Time

	ips ipTable // per-IP sessions and handshake buckets, when limited (mu)

	shared handshakeShare // what the handshakes of sessions have in common

	// wg counts every goroutine of ours: session handlers, websocket writers and
	// readers, and the ServeHTTP calls in progress. Goroutines that may run
	// while Shutdown waits (a Send from anywhere starts a writer) are counted
	// through track.
	wg       sync.WaitGroup
	trackMu  sync.RWMutex
	stopping bool // Shutdown waits for wg: track refuses (trackMu)
	// stop ends when Shutdown starts waiting for wg: goroutines that wait
	// on a peer with a deadline of their own (the drain of a failed
	// WebSocket connection) end then.
	stop    context.Context
	stopNow context.CancelFunc
}

// NewServer returns a Server that runs handler for each new session. opts may be
// nil; it is copied.
func NewServer(handler func(*Session), opts *ServerOptions) *Server {
	o := newOptions(opts)
	srv := &Server{
		opts:     o,
		handler:  handler,
		sessions: make(map[string]*Session),
	}
	ao := &websocket.AcceptOptions{}
	if o.CORS != nil {
		// ServeHTTP checks the origin against the CORS settings before Accept.
		ao.InsecureSkipVerify = true
	}
	if o.PerMessageDeflate {
		ao.CompressionMode = websocket.CompressionNoContextTakeover
		ao.CompressionThreshold = 1024
	}
	srv.stop, srv.stopNow = context.WithCancel(context.Background())
	srv.wsOpts = &ws.Options{Limit: o.MaxHTTPBufferSize, Deflate: o.PerMessageDeflate, Accept: ao,
		Spawn: srv.spawn, Stop: srv.stop}
	return srv
}

// track counts a goroutine about to start in wg, unless Shutdown is waiting
// for wg (false: the goroutine must not start).
func (srv *Server) track() bool {
	srv.trackMu.RLock()
	defer srv.trackMu.RUnlock()
	if srv.stopping {
		return false
	}
	srv.wg.Add(1)
	return true
}

// spawn runs fn on a goroutine counted by wg, unless Shutdown waits for wg
// (by then every session is closed).
func (srv *Server) spawn(fn func()) bool {
	if !srv.track() {
		return false
	}
	go func() {
		defer srv.wg.Done()
		fn()
	}()
	return true
}

// Len returns the number of sessions the server currently holds.
func (srv *Server) Len() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.sessions)
}

// Shutdown stops accepting requests, closes every session with ReasonServerClose,
// and waits until every goroutine the server started (the session handlers
// included) has ended, or until ctx is done, returning ctx.Err(). It may be called
// more than once.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.closed.Store(true)
	list := make([]*Session, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		list = append(list, s)
	}
	clear(srv.sessions)
	srv.mu.Unlock()
	for _, s := range list {
		s.closeWith(ReasonServerClose)
		s.mu.Lock()
		s.forgetLocked()
		if s.timer != nil {
			s.timer.Stop()
		}
		s.mu.Unlock()
	}
	// From here no goroutine starts unless counted before the Wait.
	srv.trackMu.Lock()
	srv.stopping = true
	srv.trackMu.Unlock()
	srv.stopNow()
	done := make(chan struct{})
	go func() {
		srv.wg.Wait()
		// A poller may be delivering a message of a session closed above.
		ws.Quiesce()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP serves one Engine.IO request: a handshake, a poll, a POST of packets,
// or a WebSocket (new, or upgrading a polling session).
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, srv.opts.Path) && r.URL.Path+"/" != srv.opts.Path {
		http.NotFound(w, r)
		return
	}
	srv.mu.Lock()
	if srv.closed.Load() {
		srv.mu.Unlock()
		http.Error(w, "engineio: server shutting down", http.StatusServiceUnavailable)
		return
	}
	srv.wg.Add(1)
	srv.mu.Unlock()
	defer srv.wg.Done()

	if c := srv.opts.CORS; c != nil && c.apply(w, r) {
		return
	}
	q := scanQuery(r.URL.RawQuery)
	upgrade := isWebSocketUpgrade(r)
	transport := q.transport
	if !upgrade && transport == websocketName && r.Header.Get("Upgrade") != "" && ws.HeaderHasToken(r.Header, "Connection", "upgrade") {
		// As the reference: an upgrade to something else is a WebSocket
		// handshake that the handshake's checks refuse.
		upgrade = true
	}
	if !srv.enabled(transport) {
		srv.refuse(w, upgrade, codeUnknownTransport, "", RefusedUnknownTransport)
		return
	}
	if q.sid == "" && handshakeHeaderBytes(r) > srv.opts.MaxHandshakeHeaderBytes {
		// As Node's HTTP server answers a header over its maxHeaderSize.
		srv.observeRefused(RefusedHeaderTooLarge)
		w.Header()["Connection"] = []string{"close"}
		w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
		return
	}
	if sid := q.sid; sid != "" {
		s := srv.lookup(sid)
		var current string
		if s != nil {
			s.mu.Lock()
			overdue := s.pongOverdueLocked()
			current = s.transportLocked()
			s.mu.Unlock()
			if overdue {
				s.closeWith(ReasonPingTimeout)
				s = nil
			}
		}
		if s == nil {
			srv.refuse(w, upgrade, codeUnknownSID, "", RefusedUnknownSession)
			return
		}
		if (!upgrade && transport != current) || q.eio != "4" {
			srv.refuse(w, upgrade, codeBadRequest, "", RefusedBadRequest)
			return
		}
		switch {
		case upgrade && transport == websocketName:
			srv.upgrade(w, r, s)
		case !upgrade && transport == pollingName:
			s.servePolling(w, r)
		default:
			srv.refuse(w, upgrade, codeBadRequest, "", RefusedBadRequest)
		}
		return
	}
	if r.Method != http.MethodGet {
		srv.refuse(w, upgrade, codeBadHandshakeMethod, "", RefusedBadMethod)
		return
	}
	if transport == websocketName && !upgrade || transport == pollingName && upgrade {
		srv.refuse(w, upgrade, codeBadRequest, "", RefusedBadRequest)
		return
	}
	if srv.opts.AllowRequest != nil {
		if err := srv.opts.AllowRequest(r); err != nil {
			srv.refuse(w, upgrade, codeForbidden, err.Error(), RefusedForbidden)
			return
		}
	}
	if cause := srv.admit(r); cause != "" {
		srv.refuse(w, upgrade, codeForbidden, cause.message(), cause)
		return
	}
	if q.eio != "4" {
		// (For a WebSocket the reference completes the handshake before this
		// check and then drops the connection; refusing it outright is clearer
		// for clients and cheaper.)
		srv.refuse(w, upgrade, codeUnsupportedVersion, "", RefusedUnsupportedVersion)
		return
	}
	// Only a handshake builds url.Values (kept in its Handshake), and only
	// for a query not seen in an earlier one.
	if transport == websocketName {
		srv.openWebSocket(w, r)
	} else {
		srv.openPolling(w, r)
	}
}

// handshakeHeaderBytes is the size of r's URL and header fields as Node
// counts it against maxHeaderSize: the bytes of the URL and of every header
// name and value (Host included).
func handshakeHeaderBytes(r *http.Request) int {
	n := len(r.RequestURI) + len("Host") + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	return n
}

func (srv *Server) enabled(transport string) bool {
	switch transport {
	case pollingName:
		return srv.opts.polling
	case websocketName:
		return srv.opts.websocket
	}
	return false
}

// isWebSocketUpgrade reports whether r asks for a WebSocket. Upgrade is looked
// at first: a polling request has none, while browsers send every request with
// "Connection: keep-alive".
func isWebSocketUpgrade(r *http.Request) bool {
	return ws.HeaderHasToken(r.Header, "Upgrade", "websocket") && ws.HeaderHasToken(r.Header, "Connection", "upgrade")
}

func (srv *Server) lookup(sid string) *Session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.sessions[sid]
}

func (srv *Server) remove(s *Session) {
	srv.mu.Lock()
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
		if srv.opts.perIP() {
			srv.removeIPSession(s.handshake.RemoteIP)
		}
	}
	srv.mu.Unlock()
}

// newSessionID returns 20 URL-safe characters from 15 bytes of crypto/rand.
func newSessionID() string {
	var b [15]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newSession creates and registers a session for the handshake request r,
// on conn when it opens on a WebSocket; nil when the server is shutting down
// or holds MaxSessions sessions (full).
func (srv *Server) newSession(r *http.Request, conn ws.Conn) (s *Session, full bool) {
	su := srv.shared.url(r.URL)
	s = &Session{
		srv:  srv,
		conn: conn,
		handshake: &Handshake{
			Header:     srv.shared.header(r.Header, r.Host),
			Query:      su.q,
			RemoteAddr: r.RemoteAddr,
			RemoteIP:   remoteIP(r.RemoteAddr),
			URL:        su.u,
			RequestURI: su.uri,
			Secure:     r.TLS != nil,
			Time:       time.Now(),
		},
	}
	if conn != nil {
		s.state = stateWebSocket
		s.inline = conn.InlineWrites()
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed.Load() {
		return nil, false
	}
	if m := srv.opts.MaxSessions; m > 0 && len(srv.sessions) >= m {
		return nil, true
	}
	if srv.opts.perIP() && !srv.addIPSession(s.handshake.RemoteIP) {
		return nil, true
	}
	for {
		s.id = newSessionID()
		if _, dup := srv.sessions[s.id]; !dup {
			break
		}
	}
	srv.sessions[s.id] = s
	return s, false
}

// remoteIP returns the IP of a RemoteAddr ("host:port"), without the port
// and the brackets of an IPv6 address; addr as it is when it has no port.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// parseQuery parses a request's query string. Unlike url.ParseQuery, which
// drops a pair it cannot unescape, it keeps such a value as written, as the
// reference's querystring module does, so that "sid=%zz" names an unknown
// session instead of vanishing into a handshake.
func parseQuery(raw string) url.Values {
	q, err := url.ParseQuery(raw)
	if err == nil {
		return q
	}
	q = make(url.Values)
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		q[k] = append(q[k], v)
	}
	return q
}

// routeQuery holds the query parameters that route a request.
type routeQuery struct {
	eio, transport, sid string
}

// scanQuery reads EIO, transport and sid (the first value of each) from a raw
// query without building url.Values: the same values as parseQuery(raw).Get.
// A query with an escape ('%' or '+') goes through parseQuery.
func scanQuery(raw string) routeQuery {
	var q routeQuery
	if strings.ContainsAny(raw, "%+") {
		v := parseQuery(raw)
		q.eio, q.transport, q.sid = v.Get("EIO"), v.Get("transport"), v.Get("sid")
		return q
	}
	var seen [3]bool
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		switch {
		case k == "EIO" && !seen[0]:
			q.eio, seen[0] = v, true
		case k == "transport" && !seen[1]:
			q.transport, seen[1] = v, true
		case k == "sid" && !seen[2]:
			q.sid, seen[2] = v, true
		}
	}
	return q
}

// admit applies MaxSessions, HandshakeRate and the per-IP limits to the
// handshake r; it returns the refusal's cause, or "" when the handshake may
// proceed. (MaxSessions and MaxSessionsPerIP are checked again, atomically,
// when the session is registered.)
func (srv *Server) admit(r *http.Request) Refusal {
	o := srv.opts
	if o.MaxSessions == 0 && o.HandshakeRate <= 0 && !o.perIP() {
		return ""
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if o.MaxSessions > 0 && len(srv.sessions) >= o.MaxSessions {
		return RefusedTooManySessions
	}
	now := time.Now()
	if o.perIP() {
		// Before the server-wide bucket: a client over its own limit takes
		// no token from the others.
		if cause := srv.admitIP(remoteIP(r.RemoteAddr), now); cause != "" {
			return cause
		}
	}
	if o.HandshakeRate > 0 {
		burst := float64(o.HandshakeBurst)
		if srv.refilled.IsZero() {
			srv.tokens = burst
		} else {
			srv.tokens = min(burst, srv.tokens+now.Sub(srv.refilled).Seconds()*o.HandshakeRate)
		}
		srv.refilled = now
		if srv.tokens < 1 {
			return RefusedHandshakeRate
		}
		srv.tokens--
	}
	return ""
}

const (
	msgTooManySessions   = "Too many sessions"
	msgTooManyHandshakes = "Too many handshakes"
)

// openPacket returns the text form of the open packet for s.
func (srv *Server) openPacket(s *Session, ws bool) []byte {
	b := make([]byte, 0, 128)
	b = append(b, `0{"sid":"`...)
	b = append(b, s.id...)
	b = append(b, `","upgrades":[`...)
	if !ws && srv.opts.websocket && !srv.opts.DisableUpgrades {
		b = append(b, `"websocket"`...)
	}
	b = append(b, `],"pingInterval":`...)
	b = strconv.AppendInt(b, srv.opts.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, srv.opts.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, int64(srv.opts.MaxHTTPBufferSize), 10)
	return append(b, '}')
}

// start arms the heartbeat, starts reading the WebSocket (a session on
// polling is read by its POSTs) and runs the handler in its own goroutine.
func (s *Session) start() {
	s.mu.Lock()
	s.setTimerLocked(s.srv.opts.PingInterval)
	s.srv.wg.Add(1)
	conn := s.conn
	s.mu.Unlock()
	if obs := s.srv.opts.Observer; obs != nil {
		obs.SessionOpened(transportName(conn != nil))
	}
	go func() {
		defer s.srv.wg.Done()
		s.srv.handler(s)
		s.mu.Lock()
		push := s.recv != recvQueue
		s.mu.Unlock()
		if !push {
			s.closeWith(ReasonForcedClose)
		}
	}()
	if conn != nil {
		conn.Start((*wsReceiver)(s))
	}
}

func (srv *Server) openPolling(w http.ResponseWriter, r *http.Request) {
	s, full := srv.newSession(r, nil)
	if full {
		srv.refuse(w, false, codeForbidden, msgTooManySessions, RefusedTooManySessions)
		return
	}
	if s == nil {
		http.Error(w, "engineio: server shutting down", http.StatusServiceUnavailable)
		return
	}
	body := srv.openPacket(s, false)
	h := w.Header()
	if c := srv.opts.Cookie; c != nil {
		ck := &http.Cookie{
			Name:     c.Name,
			Value:    s.id,
			Path:     c.Path,
			Domain:   c.Domain,
			Secure:   c.Secure,
			HttpOnly: !c.DisableHTTPOnly,
			SameSite: c.SameSite,
		}
		if c.MaxAge > 0 {
			ck.MaxAge = int(c.MaxAge.Seconds())
		}
		h.Add("Set-Cookie", ck.String())
	}
	s.start()
	writePollBody(w, body, "")
}

func (srv *Server) openWebSocket(w http.ResponseWriter, r *http.Request) {
	if !srv.originAllowed(w, r) {
		return
	}
	conn, err := ws.Accept(w, r, srv.wsOpts)
	if err != nil {
		return // Accept answered the request
	}
	s, full := srv.newSession(r, conn)
	if full {
		srv.observeRefused(RefusedTooManySessions)
		conn.Close(websocket.StatusTryAgainLater, msgTooManySessions)
		return
	}
	if s == nil {
		conn.Close(websocket.StatusGoingAway, "")
		return
	}
	s.mu.Lock()
	s.out = append(s.out, Packet{Type: PacketOpen, Data: srv.openPacket(s, true)[1:]})
	s.startWriterLocked()
	s.mu.Unlock()
	s.start()
}

// originAllowed applies the origin policy to a WebSocket request and answers
// 403 when the origin is refused: a request without an Origin (not from a
// browser) and one from the server's own host are always allowed; others only
// when CORS allows their origin (without CORS, none: the same-host rule).
func (srv *Server) originAllowed(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if c := srv.opts.CORS; c != nil && (c.wildcard() || c.allowed(origin)) {
		return true
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return true // same origin: no CORS involved
	}
	srv.observeRefused(RefusedOrigin)
	http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
	return false
}
