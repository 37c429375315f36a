// The npm socket.io 4.8 server of the repeated-drop recovery test
// (conformance/csr_drops_test.go), as the Go one there: the reference must
// pass csr_drops_client.js too. Fresh sockets join "room-a"; "report" answers
// id, rooms and recovered; "tick-start" / "tick-stop" start and stop a counter
// broadcast to "room-a" every 3 ms (the stop answers its last value);
// "room-ping" broadcasts one "room-ping" to "room-a".
//
//   node csr_drops_server.js <port>
//
// It prints "listening <port>" when ready.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);

const httpServer = http.createServer();
const io = new Server(httpServer, {
  connectionStateRecovery: { maxDisconnectionDuration: 30000 },
});

let timer = null;
let n = 0;

io.on("connection", (socket) => {
  if (!socket.recovered) socket.join("room-a");
  socket.on("report", (ack) => ack({ rooms: [...socket.rooms].sort(), recovered: socket.recovered, id: socket.id }));
  socket.on("tick-start", (tag, ack) => {
    clearInterval(timer);
    n = 0;
    timer = setInterval(() => io.to("room-a").emit("tick", tag, ++n), 3);
    ack();
  });
  socket.on("tick-stop", (ack) => {
    clearInterval(timer);
    timer = null;
    ack(n);
  });
  socket.on("room-ping", (ack) => {
    io.to("room-a").emit("room-ping", "to-room-a");
    ack();
  });
});

httpServer.listen(port, "127.0.0.1", () => process.stdout.write("listening " + port + "\n"));

process.on("SIGTERM", () => process.exit(0));
