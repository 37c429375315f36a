// An npm socket.io 4.8 server with connection state recovery, for the Go
// client's recovery tests (conformance/csr_goclient_test.go). It behaves as
// the Go test server of csr_server_test.go: fresh sockets join "room-a", get
// data {user: "csr"} and a "hello"; after every recoverable disconnection one
// "gap" round of 30 events goes to the socket, "room-a", everybody, everybody
// but "room-a", and "room-b", then "gap-end"; "report" answers rooms, data,
// recovered and id; "drop-me" closes the connection from the server side.
//
//   node csr_server.js <port> <window-ms>
//
// It prints "listening <port>" when ready.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const windowMs = Number(process.argv[3]);

const httpServer = http.createServer();
const io = new Server(httpServer, {
  connectionStateRecovery: { maxDisconnectionDuration: windowMs },
});

let rounds = 0;

io.on("connection", (socket) => {
  if (!socket.recovered) {
    socket.join("room-a");
    socket.data = { user: "csr" };
    socket.emit("hello", "hi");
  }
  socket.on("report", (ack) => {
    ack({ rooms: [...socket.rooms].sort(), data: socket.data, recovered: socket.recovered, id: socket.id });
  });
  socket.on("drop-me", () => socket.conn.close());
  socket.on("disconnect", (reason) => {
    if (reason === "client namespace disconnect" || reason === "server shutting down") return;
    const round = ++rounds;
    for (let i = 0; i < 30; i++) {
      switch (i % 5) {
        case 0:
          socket.emit("gap", round, i);
          break;
        case 1:
          io.to("room-a").emit("gap", round, i);
          break;
        case 2:
          io.emit("gap", round, i);
          break;
        case 3:
          io.except("room-a").emit("gap", round, i);
          break;
        case 4:
          io.to("room-b").emit("gap", round, i);
          break;
      }
    }
    socket.emit("gap-end", round);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write("listening " + port + "\n");
});
