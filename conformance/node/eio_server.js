// An npm engine.io 6.6 echo server, the reference for the Go server's
// differential bad-input tests.
//
//   node eio_server.js <port> [options-json]
//
// options-json is merged into the engine.io Server options. Prints
// "listening <port>" once ready.
"use strict";

const http = require("http");
const { Server } = require("engine.io");

const port = Number(process.argv[2]);
const extra = process.argv[3] ? JSON.parse(process.argv[3]) : {};

const httpServer = http.createServer();
const engine = new Server(Object.assign({ pingInterval: 300, pingTimeout: 200 }, extra));
engine.attach(httpServer);
engine.on("connection", (socket) => {
  socket.on("message", (data) => socket.send(data));
});
httpServer.listen(port, "127.0.0.1", () => console.log("listening " + port));
