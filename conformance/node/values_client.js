// socket.io-client clients that record the events they receive, for
// conformance/redis_values_test.go (values delivered through a cluster with
// the msgpack parser).
//
// Usage: node values_client.js <json|msgpack> <count> <prefix> <name>=<url> ...
//
// It connects one client per name=url (with socket.io-msgpack-parser for
// "msgpack") and prints "ready". Once every client has received <count>
// events whose names start with <prefix>, it prints for each client one line
// "events <name> <json>", the json mapping event names to their arguments,
// binary (Buffer, ArrayBuffer, typed arrays) written as {"$bin":[bytes]}, then
// "done".
"use strict";

const { io } = require("socket.io-client");

const [parserArg, countArg, prefix, ...targets] = process.argv.slice(2);
const count = Number(countArg);
const opts = { transports: ["websocket"], forceNew: true, reconnection: false };
if (parserArg === "msgpack") opts.parser = require("socket.io-msgpack-parser");

function plain(v) {
  if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) {
    return { $bin: Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
  }
  if (v instanceof ArrayBuffer) return { $bin: Array.from(new Uint8Array(v)) };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]);
    return o;
  }
  return v;
}

const clients = targets.map((t) => {
  const i = t.indexOf("=");
  const c = { name: t.slice(0, i), events: {}, n: 0 };
  c.s = io(t.slice(i + 1), opts);
  c.s.onAny((ev, ...args) => {
    if (!ev.startsWith(prefix)) return;
    if (!(ev in c.events)) c.n++;
    c.events[ev] = plain(args);
    check();
  });
  c.connected = new Promise((resolve, reject) => {
    c.s.on("connect", resolve);
    c.s.on("connect_error", reject);
  });
  return c;
});

let finished = false;
function check() {
  if (finished || !clients.every((c) => c.n >= count)) return;
  finished = true;
  for (const c of clients) process.stdout.write("events " + c.name + " " + JSON.stringify(c.events) + "\n");
  process.stdout.write("done\n");
  for (const c of clients) c.s.close();
}

Promise.all(clients.map((c) => c.connected)).then(
  () => process.stdout.write("ready\n"),
  (e) => {
    console.error(e);
    process.exit(1);
  }
);
