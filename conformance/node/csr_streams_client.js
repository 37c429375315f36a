// An npm socket.io-client 4.8 for the mixed-cluster recovery tests
// (conformance/csr_streams_test.go): one socket moves between a Go node and a
// Node node of the same Redis stream. Each time its transport is dropped, both
// nodes broadcast a "gap" round to its room and to everybody while it is away,
// and it reconnects to the other node: it must be recovered (same id, rooms,
// data) and get each missed event once, with stream offsets in increasing order.
//
//   node csr_streams_client.js <first-url> <second-url> [under-load]
//
// under-load lists the moves also run while both nodes broadcast every 5 ms:
// "to-second", "to-first" (comma separated; the Go test runs them only between
// Go nodes: a Node node delivers its own broadcasts before the entries its
// reader has not applied yet, so the last offset a client saw there is not an
// exact cursor).
// Prints "ok <step>" or "fail <step> <detail>", then "done".
"use strict";

const { out, once, check, step } = require("./steps");

const { io } = require("socket.io-client");

const [firstURL, secondURL, underLoad = ""] = process.argv.slice(2);
const loadMoves = underLoad.split(",").filter(Boolean);

// "1695...-0" < "1695...-1": compare stream ids numerically
function idLess(a, b) {
  const [at, as] = a.split("-").map(BigInt);
  const [bt, bs] = b.split("-").map(BigInt);
  return at < bt || (at === bt && as < bs);
}

async function main() {
  const opts = { transports: ["websocket"], forceNew: true, reconnectionDelay: 500, reconnectionDelayMax: 500, randomizationFactor: 0 };
  const s = io(firstURL, opts);
  const ctlFirst = io(firstURL, opts);
  const ctlSecond = io(secondURL, opts);
  const got = [];
  s.on("gap", (tag, i, offset) => got.push({ tag, i, offset }));
  const hello = once(s, "hello");
  let id1;
  await step("connect", async () => {
    await Promise.all([once(s, "connect"), once(ctlFirst, "connect"), once(ctlSecond, "connect")]);
    const [greeting, offset] = await hello;
    check(greeting === "hi" && /^[0-9]+-[0-9]+$/.test(offset), "hello " + greeting + " " + offset);
    id1 = s.id;
  });

  async function move(name, to, tags) {
    await step(name, async () => {
      got.length = 0;
      s.io.uri = to; // the next connection goes to the other node
      const reconnected = once(s, "connect", 15000);
      s.io.engine.close();
      await ctlFirst.timeout(5000).emitWithAck("gap", tags[0]);
      await ctlSecond.timeout(5000).emitWithAck("gap", tags[1]);
      await reconnected;
      check(s.recovered === true, "not recovered");
      check(s.id === id1, "id " + s.id + " != " + id1);
      const rep = await s.timeout(5000).emitWithAck("report");
      check(rep.recovered === true, "server: not recovered");
      check(rep.rooms.includes("room-a") && rep.rooms.includes(id1), "rooms " + JSON.stringify(rep.rooms));
      check(rep.data && rep.data.user === "csr", "data " + JSON.stringify(rep.data));
      for (const tag of tags) {
        const seq = got.filter((g) => g.tag === tag).map((g) => g.i);
        check(JSON.stringify(seq) === "[0,1,2,3,4]", tag + " got " + JSON.stringify(seq));
      }
      check(got.length === 10, "got " + got.length + " gap events");
      for (let k = 1; k < got.length; k++) {
        check(idLess(got[k - 1].offset, got[k].offset), "offsets out of order: " + JSON.stringify(got));
      }
    });
  }

  await move("first-to-second", secondURL, ["a1", "b1"]);
  await move("second-to-first", firstURL, ["a2", "b2"]);

  // Under load: both nodes broadcast a tick every 5 ms to the socket's room
  // while it moves; each sequence must arrive once, in order, without a gap.
  const ticks = new Map();
  s.on("tick", (tag, n) => {
    if (!ticks.has(tag)) ticks.set(tag, []);
    ticks.get(tag).push(n);
  });
  async function moveUnderLoad(name, to, round) {
    await step(name, async () => {
      const tags = ["first" + round, "second" + round];
      await ctlFirst.timeout(5000).emitWithAck("tick-start", tags[0]);
      await ctlSecond.timeout(5000).emitWithAck("tick-start", tags[1]);
      await new Promise((r) => setTimeout(r, 100));
      s.io.uri = to;
      const reconnected = once(s, "connect", 15000);
      s.io.engine.close();
      await reconnected;
      check(s.recovered === true, "not recovered");
      await new Promise((r) => setTimeout(r, 100));
      const last = [await ctlFirst.timeout(5000).emitWithAck("tick-stop"), await ctlSecond.timeout(5000).emitWithAck("tick-stop")];
      for (let k = 0; k < 2; k++) {
        const seq = () => ticks.get(tags[k]) || [];
        const end = Date.now() + 10000;
        while (seq()[seq().length - 1] !== last[k] && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
        const got = seq();
        check(got.length > 0 && got[got.length - 1] === last[k], tags[k] + ": last " + got[got.length - 1] + " != " + last[k]);
        for (let i = 1; i < got.length; i++) {
          check(got[i] === got[i - 1] + 1, tags[k] + ": " + got[i - 1] + " then " + got[i] + " (" + got.length + " ticks)");
        }
      }
    });
  }
  // The socket is on the first node now.
  if (loadMoves.includes("to-second")) {
    await moveUnderLoad("under-load-first-to-second", secondURL, 1);
  } else {
    await move("back-to-second", secondURL, ["a3", "b3"]);
  }
  if (loadMoves.includes("to-first")) await moveUnderLoad("under-load-second-to-first", firstURL, 2);
  s.disconnect();
  ctlFirst.disconnect();
  ctlSecond.disconnect();
  out("done");
  setTimeout(() => process.exit(0), 100);
}

main().catch((err) => {
  out("fail main " + (err && err.stack));
  out("done");
  process.exit(1);
});
