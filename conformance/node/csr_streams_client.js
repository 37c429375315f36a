// An npm socket.io-client 4.8 for the mixed-cluster recovery tests
// (conformance/csr_streams_test.go): one socket moves between a Go node and a
// Node node of the same Redis stream. Each time its transport is dropped, both
// nodes broadcast a "gap" round to its room and to everybody while it is away,
// and it reconnects to the other node: it must be recovered (same id, rooms,
// data) and get each missed event once, with stream offsets in increasing order.
//
//   node csr_streams_client.js <first-url> <second-url>
//
// Prints "ok <step>" or "fail <step> <detail>", then "done".
"use strict";

const { io } = require("socket.io-client");

const [firstURL, secondURL] = process.argv.slice(2);

function out(line) {
  process.stdout.write(line + "\n");
}

function once(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no " + event + " within " + ms + " ms")), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

function check(cond, detail) {
  if (!cond) throw new Error(detail);
}

async function step(name, fn) {
  try {
    await fn();
    out("ok " + name);
  } catch (err) {
    out("fail " + name + " " + (err && err.message));
  }
}

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
