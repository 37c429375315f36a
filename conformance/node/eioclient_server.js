// An npm engine.io server for the Go client's conformance tests.
//
//   node eioclient_server.js <port> [options-json]
//
// options-json is merged into the engine.io Server options (pingInterval,
// pingTimeout, maxHttpBufferSize, transports, ...). The server echoes every message;
// "close-me" makes it close the socket, "freeze:<ms>" blocks its event loop for that
// long (a silent server, without burning CPU). It prints one line per event:
//   listening <port>
//   request <method> <transport> header=<x-corvid> query=<token>
//   connection <id> <transport>
//   upgrade <id> <transport>
//   message <id> text|binary <length>
//   close <id> <reason>
"use strict";

const http = require("http");
const { Server } = require("engine.io");

const port = Number(process.argv[2]);
const extra = process.argv[3] ? JSON.parse(process.argv[3]) : {};

const httpServer = http.createServer();
const engine = new Server(Object.assign({ pingInterval: 300, pingTimeout: 200 }, extra));
engine.attach(httpServer);

function logRequest(req) {
  const url = new URL(req.url, "http://localhost");
  console.log(
    "request " + req.method + " " + url.searchParams.get("transport") +
      " header=" + (req.headers["x-corvid"] || "") +
      " query=" + (url.searchParams.get("token") || ""),
  );
}
httpServer.on("request", logRequest);
httpServer.on("upgrade", logRequest);

engine.on("connection", (socket) => {
  console.log("connection " + socket.id + " " + socket.transport.name);
  socket.on("upgrade", (transport) => {
    console.log("upgrade " + socket.id + " " + transport.name);
  });
  socket.on("message", (data) => {
    const binary = typeof data !== "string";
    console.log("message " + socket.id + " " + (binary ? "binary" : "text") + " " + data.length);
    if (data === "close-me") {
      socket.close();
      return;
    }
    if (!binary && data.startsWith("freeze:")) {
      const ms = Number(data.slice("freeze:".length));
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      return;
    }
    socket.send(data);
  });
  socket.on("close", (reason) => {
    console.log("close " + socket.id + " " + reason);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log("listening " + port);
});
