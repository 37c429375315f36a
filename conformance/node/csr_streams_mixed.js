// npm socket.io-client 4.8 clients for the mixed Streams cluster test
// (conformance/csr_streams_test.go TestCSRStreamsMixedCluster): client "A" on
// the Go node, client "B" on the Node node; each cluster operation is run
// from both nodes ("op-*" events) and its effect checked on the other side.
//
//   node csr_streams_mixed.js <go-url> <node-url>
//
// Prints "ok <step>" or "fail <step> <detail>", then "done".
"use strict";

const { out, once, check, step } = require("./steps");

const { io } = require("socket.io-client");

const [goURL, nodeURL] = process.argv.slice(2);

function eq(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// until polls fn (an async check returning true) for up to ms.
async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error("timeout: " + what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main() {
  const opts = { transports: ["websocket"], forceNew: true, reconnection: false };
  const a = io(goURL, opts);
  const b = io(nodeURL, opts);
  for (const [s, name] of [[a, "A"], [b, "B"]]) {
    s.on("q", (cb) => cb(name));
  }
  const call = (s, ev, ...args) => s.timeout(8000).emitWithAck(ev, ...args);

  await step("connect", async () => {
    await Promise.all([once(a, "connect"), once(b, "connect")]);
  });

  await step("server-count", async () => {
    check((await call(a, "op-count")) === 2, "go node counts " + (await call(a, "op-count")));
    check((await call(b, "op-count")) === 2, "node node counts " + (await call(b, "op-count")));
  });

  await step("fetch-sockets", async () => {
    for (const [s, side] of [[a, "go"], [b, "node"]]) {
      const all = await call(s, "op-fetch");
      check(Array.isArray(all), side + ": " + JSON.stringify(all));
      const ids = all.map((x) => x.id).sort();
      check(eq(ids, [a.id, b.id].sort()), side + " ids " + JSON.stringify(ids));
      for (const x of all) {
        check(x.rooms.includes("room-a") && x.rooms.includes(x.id), side + " rooms " + JSON.stringify(x));
        check(x.data && x.data.user === "csr", side + " data " + JSON.stringify(x));
      }
    }
  });

  await step("server-side-emit", async () => {
    const fromGo = await call(a, "op-sse");
    check(eq(fromGo, ["pong-node"]), "go node got " + JSON.stringify(fromGo));
    const fromNode = await call(b, "op-sse");
    check(eq(fromNode, ["pong-go"]), "node node got " + JSON.stringify(fromNode));
  });

  await step("broadcast-ack", async () => {
    const fromGo = await call(a, "op-bcast-ack");
    check(eq(fromGo, ["A", "B"]), "go node got " + JSON.stringify(fromGo));
    const fromNode = await call(b, "op-bcast-ack");
    check(eq(fromNode, ["A", "B"]), "node node got " + JSON.stringify(fromNode));
  });

  await step("sockets-join", async () => {
    await call(a, "op-join", "joined-from-go");
    await call(b, "op-join", "joined-from-node");
    for (const [s, side] of [[a, "A"], [b, "B"]]) {
      await until(async () => {
        const rep = await call(s, "report");
        return rep.rooms.includes("joined-from-go") && rep.rooms.includes("joined-from-node");
      }, 5000, side + " rooms");
    }
  });

  await step("binary", async () => {
    for (const [s, tag] of [[a, "from-go"], [b, "from-node"]]) {
      const ga = once(a, "bin");
      const gb = once(b, "bin");
      await call(s, "op-bin", tag);
      for (const [args, who] of [[await ga, "A"], [await gb, "B"]]) {
        check(args[0] === tag, who + " tag " + args[0]);
        check(Buffer.isBuffer(args[1]) && eq([...args[1]], [1, 2, 3]), who + " bytes " + JSON.stringify(args[1]));
      }
    }
  });

  await step("disconnect-sockets", async () => {
    const gone = once(b, "disconnect");
    await call(a, "op-disconnect", b.id);
    const [reason] = await gone;
    check(reason === "io server disconnect", "B: " + reason);
    const gone2 = once(a, "disconnect");
    const c = io(nodeURL, opts);
    await once(c, "connect");
    await call(c, "op-disconnect", a.id);
    const [reason2] = await gone2;
    check(reason2 === "io server disconnect", "A: " + reason2);
    c.disconnect();
  });

  a.disconnect();
  b.disconnect();
  out("done");
  setTimeout(() => process.exit(0), 100);
}

main().catch((err) => {
  out("fail main " + (err && err.stack));
  out("done");
  process.exit(1);
});
