// The npm socket.io 4.8 server of the performance harness (bench/harness).
// It answers the same events as the Go servers of the harness:
//   "echo"   (args..., ack)  acknowledges with its arguments
//   "bcast"  (payload)       emits "msg" payload to every socket
//   "toroom" (room, payload) emits "msg" payload to the room
// A client whose handshake query has "room" joins that room on connection.
//
//   node server.js PORT [REDIS_URL]
// With REDIS_URL the server uses @socket.io/redis-adapter (classic, redis 4).
// It prints "listening PORT" once it accepts connections.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 3000);
const redisURL = process.argv[3] || "";

async function main() {
  const httpServer = http.createServer();
  const io = new Server(httpServer, { maxHttpBufferSize: 1e7 });
  if (redisURL) {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-adapter");
    const pub = createClient({ url: redisURL });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
  }
  io.on("connection", (socket) => {
    const room = socket.handshake.query.room;
    if (room) socket.join(room);
    socket.on("echo", (...args) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
    socket.on("bcast", (payload) => {
      io.emit("msg", payload);
    });
    socket.on("toroom", (room, payload) => {
      io.to(room).emit("msg", payload);
    });
  });
  httpServer.listen(port, "127.0.0.1", () => {
    console.log("listening " + port);
  });
  const stop = () => {
    io.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
