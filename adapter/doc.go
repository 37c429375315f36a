// Package adapter defines how a Socket.IO namespace routes its multi-socket
// operations (broadcasts, room changes, fetchSockets, disconnects, server-side
// emits) and implements the in-memory adapter of a single server.
//
// An Adapter knows no server. The namespace hands it a Namespace: the small
// interface through which the adapter reaches the sockets of this server. The
// adapter keeps the rooms index (every socket is in the room named by its own
// id), selects targets with BroadcastOptions (rooms, except, flags), encodes a
// broadcast once with Namespace.Encode and delivers the same messages to every
// target with Namespace.Deliver. A cluster adapter (adapter/redis) does the same
// for its local sockets and publishes the operation to the other servers; the
// shape of the interface follows the reference implementation's cluster
// semantics (broadcast with acks and client counts, fetchSockets returning
// socket details, socketsJoin/Leave, disconnectSockets, serverSideEmit with
// acks, serverCount).
//
// Delivery is at most once. Volatile packets are dropped for a socket whose
// send queue is full; any other packet disconnects such a socket (slow
// consumer), so one slow client never delays the others.
//
// In the in-memory index, joining or leaving a room costs O(1) however many
// rooms the socket is in; an adapter that can count a socket's rooms without
// copying them implements RoomCounter (Memory does), which socketio uses to
// enforce MaxRoomsPerSocket.
//
// NewMemoryWithRoomEvents makes memory adapters that report room changes
// (RoomEvents: create-room, delete-room, join-room, leave-room, as the
// reference's adapter events); NewMemory's adapters pay nothing for them.
//
// Every implementation runs the contract suite in adapter/adaptertest.
//
// Connection state recovery is an optional capability: an adapter that can keep
// sessions implements SessionStore. NewMemorySessions is the in-memory adapter
// with it (the reference's SessionAwareAdapter): stored broadcasts get an
// offset, and packets and sessions are kept for the recovery window within
// the bounds of SessionOptions; past a bound a client gets a fresh session.
package adapter
