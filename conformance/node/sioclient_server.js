// The npm socket.io 4.8 server the Go client (socketio.Manager / ClientSocket) is
// tested against. Usage: node sioclient_server.js <port> [json|msgpack]
//
// It prints "listening <port>" when ready, and one line per notable event so that
// tests can check what arrived (and how many times):
//   "got <event> <JSON args>"   for the events of the "log" family
//   "connection <nsp> <auth JSON>"
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const parserName = process.argv[3] || "json";

const opts = {
  pingInterval: Number(process.argv[4] || 2000),
  pingTimeout: Number(process.argv[5] || 2000),
  maxHttpBufferSize: 1e7,
};
if (parserName === "msgpack") {
  opts.parser = require("socket.io-msgpack-parser");
}

const httpServer = http.createServer();
const io = new Server(httpServer, opts);

function out(line) {
  process.stdout.write(line + "\n");
}

// A middleware on "/" that refuses some credentials, with data.
io.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token === "bad") {
    const err = new Error("not authorized");
    err.data = { reason: "bad token", code: 42 };
    return next(err);
  }
  next();
});

// Retries: the first delivery of each "retry" payload is not acknowledged.
const retrySeen = new Map();

function common(socket) {
  const nsp = socket.nsp.name;
  out("connection " + nsp + " " + JSON.stringify(socket.handshake.auth || {}));

  // echo: emits the same arguments back as an "echo" event.
  socket.on("echo", (...args) => {
    socket.emit("echo", ...args);
  });
  // message (socket.send): sent back the same way.
  socket.on("message", (...args) => socket.send(...args));
  // ack: answers with the arguments.
  socket.on("ack", (...args) => {
    const cb = args.pop();
    if (typeof cb === "function") cb(...args);
  });
  // slow-ack: never answers (acks time out).
  socket.on("no-ack", () => {});
  // binary: emits binary values at several depths.
  socket.on("binary", (cb) => {
    socket.emit("binary", Buffer.from([1, 2, 3]), { nested: [{ b: Buffer.from([4, 5]) }], s: "x" });
    if (typeof cb === "function") cb(Buffer.from([6]), { deep: { deeper: Buffer.from([7, 8]) } });
  });
  // whoami: the namespace, socket id and Engine.IO session id.
  socket.on("whoami", (cb) => cb({ nsp, id: socket.id, eio: socket.conn.id, transport: socket.conn.transport.name }));
  // handshake: the query and the x-test header of the handshake.
  socket.on("handshake", (cb) =>
    cb({ x: socket.handshake.query.x || "", y: socket.handshake.query.y || "", header: socket.handshake.headers["x-test"] || "" }));
  // count: how many Engine.IO connections the server has.
  socket.on("count", (cb) => cb(io.engine.clientsCount));
  // auth: the auth payload of this connection.
  socket.on("auth", (cb) => cb(socket.handshake.auth));
  // disconnect-me: the server disconnects the socket ("io server disconnect").
  socket.on("disconnect-me", () => socket.disconnect());
  // close-conn: the server closes the whole Engine.IO connection.
  socket.on("close-conn", () => socket.conn.close());
  // stop-pings: the server stops sending pings on this connection (the client
  // must close it with "ping timeout").
  socket.on("stop-pings", () => {
    const c = socket.conn;
    clearTimeout(c.pingIntervalTimer);
    clearTimeout(c.pingTimeoutTimer);
    c.pingTimeoutTimer = null;
    c.pingIntervalTimer = { refresh() {}, ref() {}, unref() {} };
  });
  // garbage: the server sends a message that is no Socket.IO packet (the
  // client must close the connection with "parse error").
  socket.on("garbage", () => socket.conn.send("garbage"));
  // ask: the server emits "question" with an ack and reports the answer as an
  // "answer" event.
  socket.on("ask", (...args) => {
    socket.timeout(5000).emit("question", ...args, (err, ...answer) => {
      if (err) socket.emit("answer", "error: " + err.message);
      else socket.emit("answer", ...answer);
    });
  });
  // log: printed, so that tests can count deliveries (buffering, restarts).
  socket.on("log", (...args) => {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
    out("got " + nsp + " " + JSON.stringify(args));
    if (cb) cb("logged");
  });
  // retry: the first delivery of each payload gets no ack; later ones do.
  socket.on("retry", (key, cb) => {
    const n = (retrySeen.get(key) || 0) + 1;
    retrySeen.set(key, n);
    out("retry " + key + " " + n);
    if (n > 1 && typeof cb === "function") cb("ok " + key, n);
  });
  socket.on("disconnect", (reason) => out("disconnect " + nsp + " " + reason));
}

io.on("connection", common);
io.of("/custom").on("connection", common);

httpServer.listen(port, "127.0.0.1", () => {
  out("listening " + port);
});

process.on("SIGTERM", () => process.exit(0));
