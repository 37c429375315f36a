// A npm socket.io server with @socket.io/redis-adapter (or
// @socket.io/redis-streams-adapter) that sends requests to
// the Go servers of its cluster (TestReplyTooLargeNodeRequester): it prints
// one JSON line per request, {op, ok, ms, result} or {op, ok:false, ms, error},
// then "done".
//
// Usage: node reply_too_large.js <redis url> <classic|sharded|streams> <key>
// (streams: key is the stream name and the channel prefix)
"use strict";

const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");

const [url, mode, key] = process.argv.slice(2);

async function timed(op, fn) {
  const start = Date.now();
  try {
    const result = await fn();
    console.log(JSON.stringify({ op, ok: true, ms: Date.now() - start, result }));
  } catch (e) {
    console.log(JSON.stringify({ op, ok: false, ms: Date.now() - start, error: String(e && e.message ? e.message : e) }));
  }
}

async function main() {
  const pub = createClient({ url });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => console.error("redis:", e.message));
  await Promise.all([pub.connect(), sub.connect()]);
  const io = new Server(); // no HTTP server: it only sends cluster requests
  if (mode === "classic") {
    io.adapter(createAdapter(pub, sub, { key, requestsTimeout: 3000 }));
  } else if (mode === "streams") {
    io.adapter(createStreamsAdapter(pub, { streamName: key, channelPrefix: key, sessionKeyPrefix: key + ":session:" }));
  } else {
    io.adapter(createShardedAdapter(pub, sub, { channelPrefix: key, subscriptionMode: "dynamic" }));
  }
  const nsp = io.of("/");
  // wait until the Go server and this one are counted
  for (let i = 0; (await nsp.adapter.serverCount()) < 2; i++) {
    if (i > 200) throw new Error("the Go server is not subscribed");
    await new Promise((r) => setTimeout(r, 25));
  }
  await timed("fetchSockets", async () => (await io.fetchSockets()).map((s) => s.id));
  await timed("serverSideEmitWithAck", () => io.serverSideEmitWithAck("ev"));
  if (mode === "classic") {
    await timed("allRooms", async () => [...(await nsp.adapter.allRooms())]);
  }
  console.log("done");
  await Promise.all([pub.quit(), sub.quit()]);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
