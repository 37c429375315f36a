// The npm socket.io 4.8 side of the resource battery
// (conformance/resource_battery_test.go): the application of
// conformance/cmd/battery-server on a Server with the default options and
// Node's http server with its defaults.
//
//   node battery_server.js <port> [ping-ms]
//
// ping-ms sets pingInterval and pingTimeout (default: the defaults).
// "join" [rooms] joins them all, "leave" [rooms] leaves each (both
// acknowledged with their number); "probe" joins and leaves a room and
// acknowledges (the rooms attack's well-behaved clients); "slow" has a handler that does nothing;
// "flood" n size emits n events of size bytes (a buffer each); "bin" takes attachments;
// namespaces ^/dyn-\d+$ are created on demand. Prints "listening <port>".
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const ping = process.argv[3] ? Number(process.argv[3]) : 0;
process.on("uncaughtException", (err) => {
  console.log("uncaught " + (err && err.message));
});

const httpServer = http.createServer();
const io = new Server(httpServer, ping ? { pingInterval: ping, pingTimeout: ping } : {});

function app(socket) {
  socket.on("join", (rooms, ack) => {
    if (Array.isArray(rooms)) socket.join(rooms);
    if (typeof ack === "function") ack(Array.isArray(rooms) ? rooms.length : 0);
  });
  socket.on("leave", (rooms, ack) => {
    if (Array.isArray(rooms)) for (const r of rooms) socket.leave(r);
    if (typeof ack === "function") ack(Array.isArray(rooms) ? rooms.length : 0);
  });
  socket.on("probe", (ack) => {
    socket.join("probe");
    socket.leave("probe");
    if (typeof ack === "function") ack();
  });
  socket.on("slow", () => {});
  socket.on("flood", (n, size) => {
    const len = Math.min(Number(size) || 0, 1 << 20);
    for (let i = 0; i < Math.min(Number(n) || 0, 10000); i++) socket.emit("data", Buffer.alloc(len, i & 255));
  });
  socket.on("bin", () => {});
}
io.on("connection", app);
io.of(/^\/dyn-\d+$/).on("connection", app);
httpServer.listen(port, "127.0.0.1", () => console.log("listening " + port));
