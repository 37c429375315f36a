package engineio

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// sessionClosedError is what Read and Send return once a session is closed; it
// wraps the close Reason, so errors.Is(err, ReasonPingTimeout) works.
type sessionClosedError struct{ reason Reason }

func (e *sessionClosedError) Error() string {
	return "engineio: session closed: " + string(e.reason)
}

func (e *sessionClosedError) Unwrap() error { return e.reason }

// errorCode is one of the HTTP error codes of the protocol, as numbered by the
// reference server.
type errorCode int

const (
	codeUnknownTransport   errorCode = 0
	codeUnknownSID         errorCode = 1
	codeBadHandshakeMethod errorCode = 2
	codeBadRequest         errorCode = 3
	codeForbidden          errorCode = 4
	codeUnsupportedVersion errorCode = 5
)

var errorMessages = [...]string{
	codeUnknownTransport:   "Transport unknown",
	codeUnknownSID:         "Session ID unknown",
	codeBadHandshakeMethod: "Bad handshake method",
	codeBadRequest:         "Bad request",
	codeForbidden:          "Forbidden",
	codeUnsupportedVersion: "Unsupported protocol version",
}

// writeError answers a refused request as the reference does: for a plain HTTP
// request, status 400 (403 for Forbidden) with {"code":N,"message":"..."} as
// application/json; for a WebSocket upgrade request, a 400 with the bare message
// and the connection closed.
func writeError(w http.ResponseWriter, upgrade bool, code errorCode, message string) {
	if message == "" {
		message = errorMessages[code]
	}
	h := w.Header()
	if upgrade {
		h.Set("Content-Type", "text/html")
		h.Set("Connection", "close")
		h.Set("Content-Length", strconv.Itoa(len(message)))
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(message))
		return
	}
	status := http.StatusBadRequest
	if code == codeForbidden {
		status = http.StatusForbidden
	}
	msg, _ := json.Marshal(message)
	body := make([]byte, 0, 32+len(msg))
	body = append(body, `{"code":`...)
	body = strconv.AppendInt(body, int64(code), 10)
	body = append(body, `,"message":`...)
	body = append(body, msg...)
	body = append(body, '}')
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
