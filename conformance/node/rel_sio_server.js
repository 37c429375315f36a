// An npm socket.io 4.8 server with the behaviour of the Go security tests'
// server (conformance/security_advisories_test.go): namespaces "/" and
// "/custom"; on connection it emits "auth" with the CONNECT payload; "message"
// is answered with "message-back" and the same arguments; "message-with-ack" is
// acknowledged with its arguments. No "error" listener is registered.
//
//   node rel_sio_server.js <port> [options-json]
//
// options-json is merged into the Server options. Prints "listening <port>"
// once ready, and "uncaught <message>" if the process meets an exception it
// would otherwise die of.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const extra = process.argv[3] ? JSON.parse(process.argv[3]) : {};

process.on("uncaughtException", (err) => {
  console.log("uncaught " + (err && err.message));
});

const httpServer = http.createServer();
const io = new Server(
  httpServer,
  Object.assign({ pingInterval: 60000, pingTimeout: 60000, connectTimeout: 1000 }, extra),
);

function onConnection(socket) {
  socket.emit("auth", socket.handshake.auth || {});
  socket.on("message", (...args) => socket.emit("message-back", ...args));
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
}
io.on("connection", onConnection);
io.of("/custom").on("connection", onConnection);
httpServer.listen(port, "127.0.0.1", () => console.log("listening " + port));
