// An npm socket.io-client 4.8 peer for the Go Socket.IO server's interop tests
// (conformance/sio_node_test.go).
//
//   node sio_client.js <url> <mode> [json|msgpack]
//
// mode: polling | websocket | upgrade (polling, then upgrade to websocket).
// It runs the scenario below step by step against the Go server and prints
// "ok <step>" after each step that behaved as expected, "fail <step> <detail>"
// otherwise, and "done" at the end (then exits).
"use strict";

const steps = require("./steps");
const { out, check, step } = steps;
const once = (emitter, event, ms = 5000) => steps.once(emitter, event, ms);

const { io } = require("socket.io-client");

const [url, mode, parserName] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
const base = { transports, upgrade: mode === "upgrade", forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200 };
if (parserName === "msgpack") {
  base.parser = require("socket.io-msgpack-parser");
}

function connect(nsp, opts = {}) {
  const s = io(url + nsp, { ...base, ...opts });
  s.on("welcome", (w) => (s.welcome = w)); // emitted right at connection
  return s;
}

function eq(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isBuf(v, bytes) {
  return Buffer.isBuffer(v) && eq([...v], bytes);
}

async function main() {
  const a = connect("/", { auth: { name: "alice" } });
  const b = connect("/", { auth: { name: "bob" } });

  await step("connect", async () => {
    await Promise.all([once(a, "connect"), once(b, "connect")]);
    check(a.id && a.id.length === 20, "id " + a.id);
    if (mode === "upgrade") {
      if (a.io.engine.transport.name !== "websocket") await once(a.io.engine, "upgrade");
      check(a.io.engine.transport.name === "websocket", "transport " + a.io.engine.transport.name);
    } else {
      check(a.io.engine.transport.name === mode, "transport " + a.io.engine.transport.name);
    }
  });

  await step("welcome", async () => {
    if (!a.welcome) await once(a, "welcome");
    check(a.welcome && a.welcome.name === "alice", "welcome " + JSON.stringify(a.welcome));
  });

  await step("ack-client-to-server", async () => {
    const res = await a.timeout(3000).emitWithAck("echo", 1, "two", { three: [true, null] });
    check(eq(res, 1), "first ack argument " + JSON.stringify(res));
  });

  await step("binary-both-ways", async () => {
    const [x, y] = await new Promise((resolve) =>
      a.emit("echo-all", Buffer.from([1, 2]), { nested: { deep: [Buffer.from([3, 4, 5])] } }, (...args) => resolve(args)),
    );
    check(isBuf(x, [1, 2]), "first " + JSON.stringify(x));
    check(isBuf(y.nested.deep[0], [3, 4, 5]), "nested " + JSON.stringify(y));
  });

  await step("ack-server-to-client", async () => {
    a.once("question", (n, buf, cb) => cb(n + 1, Buffer.concat([buf, Buffer.from([9])])));
    const [answer] = await new Promise((resolve) => a.emit("ask", (...args) => resolve(args)));
    check(answer && answer.got === 42 && eq(answer.bin, [7, 8, 9]), "answer " + JSON.stringify(answer));
  });

  await step("server-ack-timeout", async () => {
    a.once("ignored", () => {}); // never acknowledges
    const [answer] = await new Promise((resolve) => a.emit("ask-timeout", (...args) => resolve(args)));
    check(answer === "timeout", "answer " + JSON.stringify(answer));
  });

  await step("client-ack-timeout", async () => {
    let err;
    try {
      await a.timeout(200).emitWithAck("no-answer");
    } catch (e) {
      err = e;
    }
    check(err && err.message === "operation has timed out", "error " + (err && err.message));
  });

  await step("rooms-broadcast-except", async () => {
    await a.emitWithAck("join", "blue");
    await b.emitWithAck("join", "blue");
    const got = once(b, "bc");
    let selfGot = false;
    a.once("bc", () => (selfGot = true));
    a.emit("broadcast", "blue", "hi");
    const [room, msg] = await got;
    check(room === "blue" && msg === "hi", "bc " + room + " " + msg);
    await a.emitWithAck("echo", 0); // a round trip after the broadcast
    check(!selfGot, "the sender got its own broadcast");
  });

  await step("volatile", async () => {
    const got = once(b, "vol");
    a.emit("volatile");
    const [v] = await got;
    check(v === 1, "vol " + v);
  });

  await step("broadcast-emitWithAck", async () => {
    b.once("poll", (cb) => cb("b-answer"));
    a.once("poll", () => {}); // a does not answer
    const [res] = await new Promise((resolve) => a.emit("poll-all", (...args) => resolve(args)));
    check(res && eq(res.responses, ["b-answer"]) && res.missing === 1 && res.timeout === true, "result " + JSON.stringify(res));
  });

  await step("custom-namespace", async () => {
    const c = connect("/custom");
    await once(c, "connect");
    const res = await c.emitWithAck("echo", "custom");
    check(res === "custom:/custom", "res " + res);
    c.disconnect();
  });

  await step("dynamic-namespace", async () => {
    const d = connect("/dyn-42");
    const [nsp] = await once(d, "hello-dyn");
    check(nsp === "/dyn-42", "nsp " + nsp);
    d.disconnect();
    const bad = connect("/dyn-x", { reconnection: false });
    const [err] = await once(bad, "connect_error");
    check(err.message === "Invalid namespace", "error " + err.message);
    bad.close();
  });

  await step("middleware-rejection", async () => {
    const bad = connect("/admin", { auth: { token: "wrong" }, reconnection: false });
    const [err] = await once(bad, "connect_error");
    check(err.message === "unauthorized" && err.data && err.data.reason === "bad token", "error " + JSON.stringify([err.message, err.data]));
    bad.close();
    const good = connect("/admin", { auth: { token: "secret" } });
    await once(good, "connect");
    good.disconnect();
  });

  await step("server-disconnect", async () => {
    const c = connect("/");
    await once(c, "connect");
    c.emit("disconnect-me");
    const [reason] = await once(c, "disconnect");
    check(reason === "io server disconnect", "reason " + reason);
    check(!c.active, "still active");
    c.close();
  });

  await step("reconnect-after-transport-drop", async () => {
    const c = connect("/");
    await once(c, "connect");
    if (mode === "upgrade" && c.io.engine.transport.name !== "websocket") {
      await once(c.io.engine, "upgrade"); // a close in the middle of an upgrade is another case
    }
    const firstID = c.id;
    c.emit("drop-transport");
    const [reason] = await once(c, "disconnect");
    check(reason === "transport close", "reason " + reason);
    await once(c, "connect");
    check(c.id !== firstID, "same id after reconnection");
    const res = await c.timeout(3000).emitWithAck("echo", "again");
    check(res === "again", "echo " + res);
    c.close();
  });

  await step("client-disconnect", async () => {
    const c = connect("/", { auth: { name: "leaver" } });
    await once(c, "connect");
    const id = c.id;
    c.disconnect();
    out("left " + id);
  });

  a.close();
  b.close();
  out("done");
  setTimeout(() => process.exit(0), 100);
}

main().catch((err) => {
  out("fail main " + err.message);
  out("done");
  process.exit(1);
});
