// An npm socket.io-client 4.8 peer for the connection state recovery tests
// (conformance/csr_node_test.go).
//
//   node csr_client.js <url> <polling|websocket> <window-ms>
//
// The Go server (csr_server_test.go) joins every fresh socket to "room-a",
// greets it with "hello", and after every recoverable disconnection emits one
// "gap" round: events to the socket, to "room-a", to everybody, and to targets
// that must not reach it, then "gap-end". This script drops the connection
// three ways and prints "ok <step>" or "fail <step> <detail>", then "done".
"use strict";

const { out, once, check, step } = require("./steps");

const { io } = require("socket.io-client");

const [url, mode, windowArg] = process.argv.slice(2);
const windowMs = Number(windowArg);
const transports = mode === "polling" ? ["polling"] : ["websocket"];

// the seq numbers of a round the socket must get: i % 5 in {0, 1, 2}
const expected = [];
for (let i = 0; i < 30; i++) if (i % 5 < 3) expected.push(i);

async function main() {
  const s = io(url, {
    transports,
    forceNew: true,
    reconnectionDelay: 300,
    reconnectionDelayMax: 300,
    randomizationFactor: 0,
  });
  const gaps = new Map(); // round -> seq list
  const offsets = [];
  let away = false; // between "disconnect" and "connect": replayed events arrive then
  let replayed = 0;
  s.on("disconnect", () => (away = true));
  s.on("connect", () => (away = false));
  s.on("gap", (round, seq, offset) => {
    if (!gaps.has(round)) gaps.set(round, []);
    gaps.get(round).push(seq);
    offsets.push(offset);
    if (away) replayed++;
  });
  const gapEnd = (round) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no gap-end " + round)), 15000);
      const h = (r) => {
        if (r === round) {
          clearTimeout(timer);
          s.off("gap-end", h);
          resolve();
        }
      };
      s.on("gap-end", h);
    });
  const hello = once(s, "hello");
  let id1;

  await step("connect-with-pid", async () => {
    await once(s, "connect");
    check(s.recovered === false, "recovered on the first connection");
    check(typeof s._pid === "string" && s._pid.length > 0, "no pid in the CONNECT reply");
    id1 = s.id;
  });

  await step("offset-on-events", async () => {
    const args = await hello;
    check(args[0] === "hi", "hello args " + JSON.stringify(args));
    check(typeof args[args.length - 1] === "string" && args.length === 2, "no offset: " + JSON.stringify(args));
  });

  async function recover(name, round, drop) {
    await step(name, async () => {
      const reconnected = once(s, "connect", 15000);
      const end = gapEnd(round);
      drop();
      await reconnected;
      await end;
      check(s.recovered === true, "not recovered");
      check(s.id === id1, "id changed: " + s.id + " != " + id1);
      const got = gaps.get(round) || [];
      check(JSON.stringify(got) === JSON.stringify(expected), "round " + round + " got " + JSON.stringify(got));
      const rep = await s.timeout(5000).emitWithAck("report");
      check(rep.recovered === true, "server: not recovered");
      check(rep.rooms.includes("room-a") && rep.rooms.includes(id1), "rooms " + JSON.stringify(rep.rooms));
      check(rep.data && rep.data.user === "csr", "data " + JSON.stringify(rep.data));
    });
  }

  await recover("client-drop-recovers", 1, () => s.io.engine.close());
  await recover("server-drop-recovers", 2, () => s.emit("drop-me"));

  await step("offsets-distinct", async () => {
    check(new Set(offsets).size === offsets.length, "an offset was seen twice");
  });

  await step("past-window-fresh-session", async () => {
    const delay = windowMs + 1500;
    s.io.reconnectionDelay(delay);
    s.io.reconnectionDelayMax(delay);
    const reconnected = once(s, "connect", delay + 15000);
    s.io.engine.close();
    await reconnected;
    check(s.recovered === false, "recovered after the window");
    check(s.id !== id1, "same id after the window");
    const rep = await s.timeout(5000).emitWithAck("report");
    check(rep.recovered === false, "server: recovered");
    check(!gaps.has(3), "round 3 (sent while away, past the window) arrived: " + JSON.stringify(gaps.get(3)));
  });

  out("replayed-before-connect " + replayed);
  s.disconnect();
  out("done");
  setTimeout(() => process.exit(0), 100);
}

main().catch((err) => {
  out("fail main " + (err && err.stack));
  out("done");
  process.exit(1);
});
