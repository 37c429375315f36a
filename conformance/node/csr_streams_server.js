// An npm socket.io 4.8 server with @socket.io/redis-streams-adapter 0.3 and
// connection state recovery, for the mixed-cluster tests of the Go Streams
// adapter (conformance/csr_streams_test.go). Its behaviour matches the Go node
// of that test: fresh sockets join "room-a", get data {user: "csr"} and a
// "hello"; "report" answers {recovered, id, rooms, data}; "gap" (tag) emits
// ["gap", tag, i] for i < 5 alternately to "room-a" and to everybody, then
// acknowledges; "tick-start" and "tick-stop" run a 5 ms "tick" broadcast to
// "room-a" (the stop answers the last tick). The "op-*" events run a cluster operation and acknowledge
// its result (see conformance/node/csr_streams_mixed.js); the server answers
// the server-side emit "ping" with "pong-node".
//
//   node csr_streams_server.js <port> <redis-url> <stream-and-prefix> <window-ms>
//
// It prints "listening <port>" when ready.
"use strict";

const http = require("http");
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-streams-adapter");

const [portArg, redisURL, name, windowArg] = process.argv.slice(2);
const port = Number(portArg);
let ticker = null; // "tick-start" (tag): ["tick", tag, n] to "room-a" every 5 ms until "tick-stop"
let ticks = 0;

async function main() {
  const client = createClient({ url: redisURL });
  await client.connect();
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    connectionStateRecovery: { maxDisconnectionDuration: Number(windowArg) },
    adapter: createAdapter(client, { streamName: name, channelPrefix: name, sessionKeyPrefix: name + ":session:" }),
  });
  io.on("ping", (cb) => cb("pong-node"));
  io.on("connection", (socket) => {
    if (!socket.recovered) {
      socket.join("room-a");
      socket.data = { user: "csr" };
      socket.emit("hello", "hi");
    }
    socket.on("report", (ack) => {
      ack({ rooms: [...socket.rooms].sort(), data: socket.data, recovered: socket.recovered, id: socket.id });
    });
    socket.on("op-count", async (ack) => ack(await io.of("/").adapter.serverCount()));
    socket.on("op-fetch", async (ack) => {
      const all = await io.fetchSockets();
      ack(all.map((r) => ({ id: r.id, rooms: [...r.rooms].sort(), data: r.data })));
    });
    socket.on("op-sse", async (ack) => ack((await io.serverSideEmitWithAck("ping")).sort()));
    socket.on("op-bcast-ack", async (ack) => ack((await io.timeout(3000).emitWithAck("q")).sort()));
    socket.on("op-join", (room, ack) => {
      io.socketsJoin(room);
      ack();
    });
    socket.on("op-bin", (tag, ack) => {
      io.emit("bin", tag, Buffer.from([1, 2, 3]));
      ack();
    });
    socket.on("op-disconnect", (room, ack) => {
      io.in(room).disconnectSockets();
      ack();
    });
    socket.on("tick-start", (tag, ack) => {
      ticks = 0;
      ticker = setInterval(() => io.to("room-a").emit("tick", tag, ++ticks), 5);
      ack();
    });
    socket.on("tick-stop", (ack) => {
      clearInterval(ticker);
      ack(ticks);
    });
    socket.on("gap", (tag, ack) => {
      for (let i = 0; i < 5; i++) {
        if (i % 2 === 0) io.to("room-a").emit("gap", tag, i);
        else io.emit("gap", tag, i);
      }
      ack();
    });
  });
  // The adapter's stream reader and subscriber start asynchronously.
  await new Promise((r) => setTimeout(r, 500));
  httpServer.listen(port, "127.0.0.1", () => {
    process.stdout.write("listening " + port + "\n");
  });
}

main().catch((err) => {
  process.stdout.write("fail main " + (err && err.stack) + "\n");
  process.exit(1);
});
