// Room events of socket.io-adapter's in-memory Adapter for a sequence of
// room operations, for conformance/adapter_events_test.go.
//
//   node adapter_events.js '<ops-json>'
//
// ops is a list of ["addAll", id, [rooms]], ["del", id, room] or
// ["delAll", id]. Prints the events as one JSON list of [event, args...].
"use strict";

const { Adapter } = require("socket.io-adapter");

const ops = JSON.parse(process.argv[2]);
const adapter = new Adapter({ name: "/", sockets: new Map(), server: { encoder: {} } });
const events = [];
for (const ev of ["create-room", "delete-room", "join-room", "leave-room"]) {
  adapter.on(ev, (...args) => events.push([ev, ...args]));
}
for (const [op, id, arg] of ops) {
  if (op === "addAll") adapter.addAll(id, new Set(arg));
  else if (op === "del") adapter.del(id, arg);
  else if (op === "delAll") adapter.delAll(id);
}
console.log(JSON.stringify(events));
