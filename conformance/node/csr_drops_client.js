// An npm socket.io-client 4.8 for the repeated-drop recovery tests
// (conformance/csr_drops_test.go). A socket in "room-a" receives a counter
// ("tick", tag, n) broadcast to that room every few milliseconds by the server
// of a control socket; its transport is dropped with engine.close() several
// times, each time with another reconnection delay (so that the new
// connection comes before, around and after the server handled the old
// one's close). After every drop it must be recovered (same id, rooms kept,
// on the server too); at the end the counter must have arrived once each, in
// order, up to the last value, and a room broadcast after the last drop must
// reach it.
//
//   node csr_drops_client.js <transport> <drops> <url> [<other-url>]
//
// With other-url the socket moves to the other node at every drop.
// Prints "ok <step>" or "fail <step> <detail>", then "done".
"use strict";

const { out, once, check, step } = require("./steps");

const { io } = require("socket.io-client");

const [transport, dropsArg, firstURL, secondURL = ""] = process.argv.slice(2);
const drops = Number(dropsArg);
// Reconnection delays, in turn: 0 races the old connection's close.
const delays = [0, 10, 40, 100, 250];

async function main() {
  const base = { forceNew: true, randomizationFactor: 0 };
  const s = io(firstURL, { ...base, transports: [transport], reconnectionDelay: 0, reconnectionDelayMax: 0 });
  const ctl = io(firstURL, { ...base, transports: ["websocket"] });
  const ticks = [];
  const tag = "drops-" + transport;
  s.on("tick", (t, n) => {
    if (t === tag) ticks.push(n);
  });
  let id;
  const report = async (what) => {
    const rep = await s.timeout(5000).emitWithAck("report");
    check(rep.id === id, what + ": server id " + rep.id + " != " + id);
    check(rep.rooms.includes("room-a") && rep.rooms.includes(id), what + ": rooms " + JSON.stringify(rep.rooms));
    return rep;
  };
  await step("connect", async () => {
    await Promise.all([once(s, "connect"), once(ctl, "connect")]);
    id = s.id;
    await report("connect");
    await ctl.timeout(5000).emitWithAck("tick-start", tag);
    await new Promise((r) => setTimeout(r, 100));
  });
  for (let i = 1; i <= drops; i++) {
    await step("drop-" + i, async () => {
      const delay = delays[(i - 1) % delays.length];
      s.io.reconnectionDelay(delay);
      s.io.reconnectionDelayMax(delay);
      if (secondURL) s.io.uri = i % 2 === 1 ? secondURL : firstURL;
      const reconnected = once(s, "connect", 15000);
      s.io.engine.close();
      await reconnected;
      check(s.recovered === true, "not recovered (delay " + delay + " ms)");
      check(s.id === id, "id " + s.id + " != " + id);
      const rep = await report("drop " + i);
      check(rep.recovered === true, "server: not recovered");
      await new Promise((r) => setTimeout(r, 150));
    });
  }
  await step("ticks", async () => {
    const last = await ctl.timeout(5000).emitWithAck("tick-stop");
    const end = Date.now() + 10000;
    while (ticks[ticks.length - 1] !== last && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    check(last > 0 && ticks[ticks.length - 1] === last, "last tick " + ticks[ticks.length - 1] + " != " + last);
    const faults = [];
    for (let k = 0; k < ticks.length; k++) {
      if (ticks[k] !== k + 1) faults.push("at " + k + ": " + ticks[k]);
      if (faults.length >= 5) break;
    }
    check(faults.length === 0, ticks.length + " ticks for " + last + ": " + faults.join(", "));
  });
  await step("room-after", async () => {
    const got = once(s, "room-ping", 5000);
    await ctl.timeout(5000).emitWithAck("room-ping");
    const [v] = await got;
    check(v === "to-room-a", "room-ping " + v);
  });
  s.disconnect();
  ctl.disconnect();
  out("done");
  setTimeout(() => process.exit(0), 100);
}

main().catch((err) => {
  out("fail main " + (err && err.stack));
  out("done");
  process.exit(1);
});
