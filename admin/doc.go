// Package admin is the server side of the official Socket.IO admin UI (npm
// @socket.io/admin-ui, 0.5): Instrument serves the UI's protocol on an admin
// namespace ("/admin" by default) of a socketio.Server, as the package's
// instrument(io, options) does, using only package socketio's public API.
//
// # The protocol
//
// An admin connects to the admin namespace. With Options.Auth, its CONNECT
// payload must carry a session id handed out earlier, or a username and
// password that Auth accepts; on success it is sent "session" with a new
// session id (16 hex digits), which the UI keeps to reconnect without the
// password. A refusal is the CONNECT_ERROR "invalid credentials", the text on
// which the UI shows its login form again. The password check is the
// caller's: the reference compares against a bcrypt hash, which needs
// golang.org/x/crypto/bcrypt, a dependency this module does not take: the
// nested module github.com/corvid-io/corvid/admin/bcrypt (its own go.mod)
// offers bcrypt.Check(username, hash) for Options.Auth. Options.NoAuth accepts everyone,
// as the reference's auth: false, and must be explicit.
//
// A connected admin gets "config" {supportedFeatures}, then (development
// mode, the default) "all_sockets" with the sockets of every namespace,
// fetched through each namespace's adapter (so cluster-wide), then
// "server_stats". Every StatsInterval (2 s) the namespace gets
// "server_stats": server id, hostname, pid, uptime, clientsCount,
// pollingClientsCount, aggregatedEvents and the namespaces with their
// sockets count. In development mode it also gets "socket_connected",
// "socket_disconnected", "event_received" and "event_sent" for the sockets
// of every namespace, and "room_joined" and "room_left" with Options.Rooms.
//
// Unless Options.ReadOnly, the UI's commands are served: "emit" (nsp,
// filter, event, args...), "join" and "leave" (nsp, room, filter) and
// "_disconnect" (nsp, close, filter), each on the sockets of the namespace
// in the room filter (a socket id to act on one socket), or all of them
// without a filter, through the adapter (SocketsJoin, SocketsLeave,
// DisconnectSockets), bounded by CommandTimeout. A command names an
// existing namespace; it never creates one.
//
// # Differences from the reference
//
//   - aggregatedEvents counts the Engine.IO traffic as the reference does
//     (rawConnection, rawDisconnection with the Engine.IO close reason,
//     packetsIn, packetsOut, bytesIn, bytesOut: the messages and the bytes
//     of their data) only with Options.Engine, an EngineObserver that is
//     also the server's engineio.ServerOptions.Observer, set before the
//     server is created (engineio.Observers combines it with another, such
//     as metrics.Counters). Its counts are folded in under the second each
//     server_stats is built, not the second they happened. Without it,
//     aggregatedEvents holds rawConnection and rawDisconnection only: the
//     first socket of an Engine.IO connection seen connecting, and its last
//     one leaving (subType is that socket's disconnect reason, e.g. "client
//     namespace disconnect" where the reference has the Engine.IO reason).
//   - clientsCount and pollingClientsCount count the Engine.IO connections
//     that have a socket in some namespace; a connection that joined none
//     yet is not counted.
//   - room_joined and room_left need the server's adapter factory wrapped
//     (RoomEvents.Wrap, Options.Rooms): the public API has no event for room
//     changes. Without it the rooms the UI shows are those of all_sockets
//     when it connects. They are sent shortly after the change, from the
//     stats goroutine (a change made while a socket connects cannot be sent
//     from there), in order; over 4096 waiting, changes are dropped.
//   - socket_updated is not sent: there is no hook on a transport upgrade or
//     on a change of a socket's data.
//   - clientId and transport are empty for a socket of another server of a
//     cluster (the reference keeps them in the socket's data, which is the
//     application's here).
//   - Sockets that connected before Instrument, or to a namespace created
//     since the last stats tick, are listed by all_sockets and counted, but
//     their own events (disconnection, events) are not reported.
//
// # Limits
//
// Session ids are kept in memory, at most MaxSessions (default 1000), the
// oldest forgotten first; Close forgets them all. The aggregated events
// between two server_stats are at most 256 entries (per second, type and
// reason); the room changes waiting to be sent at most 4096. The hooks on
// the namespaces are one per namespace, dropped when the namespace is
// removed. What the admin namespace is sent is bounded by
// the Engine.IO send queue of each admin connection: an admin that does not
// read is disconnected as a slow consumer. In development mode every event
// of every socket is also sent to the admin namespace (event_received,
// event_sent), which costs an encode per event while an admin may listen;
// use Production on a busy server.
//
// # The UI's files
//
// The UI is a static application in the npm package (ui/dist); UIHandler
// serves such a directory. Point the UI's login form at the server's URL,
// with the server's path (default /socket.io) and the admin namespace.
package admin
