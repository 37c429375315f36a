// An npm engine.io-client peer for the Go Engine.IO server's interop tests.
//
//   node eio_client.js <url> <mode>
//
// mode: polling | websocket | upgrade (polling, then upgrade to websocket) |
// nopong (websocket, never answers pings). After the connection is ready (after
// the upgrade in upgrade mode) it sends "hello", the binary 01 02 03 and a text of
// 300000 "x"; once all came back it sends "close-me". It prints one line per event:
//   open <transport>
//   upgrade <transport>
//   text <data>          (text len=<n> for texts over 100 characters)
//   binary <hex>
//   close <reason>
"use strict";

const { Socket } = require("engine.io-client");

const [url, mode] = process.argv.slice(2);
const transports = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
  nopong: ["websocket"],
}[mode];

const socket = new Socket(url, { transports, upgrade: mode === "upgrade" });
let echoed = 0;

function start() {
  socket.send("hello");
  socket.send(Buffer.from([1, 2, 3]));
  socket.send("x".repeat(300000));
}

socket.on("open", () => {
  console.log("open " + socket.transport.name);
  if (mode === "nopong") {
    const send = socket._sendPacket.bind(socket);
    socket._sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));
    return;
  }
  if (mode !== "upgrade") start();
});

socket.on("upgrade", (transport) => {
  console.log("upgrade " + transport.name);
  start();
});

socket.on("message", (data) => {
  if (typeof data === "string") {
    console.log(data.length > 100 ? "text len=" + data.length : "text " + data);
  } else {
    console.log("binary " + Buffer.from(data).toString("hex"));
  }
  const echo =
    typeof data === "string"
      ? data === "hello" || data.length === 300000
      : Buffer.from(data).toString("hex") === "010203";
  if (echo) {
    if (++echoed === 3) socket.send("close-me");
  }
});

socket.on("close", (reason) => {
  console.log("close " + reason);
  process.exit(0);
});
