// Emits through npm @socket.io/redis-streams-adapter 0.3 with several
// streams, for the stream-naming test of the Go Streams adapter
// (conformance/csr_streams_test.go TestCSRStreamsNaming).
//
//   node csr_streams_emit.js <redis-url> <stream-and-prefix> <stream-count> <nsp>...
//
// It emits ["n", <nsp>] in every namespace every 200 ms until killed, and
// prints "emitting" after the first round.
"use strict";

const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-streams-adapter");

const [redisURL, name, countArg, ...nsps] = process.argv.slice(2);

async function main() {
  const client = await createClient({ url: redisURL }).connect();
  const io = new Server({
    adapter: createAdapter(client, { streamName: name, channelPrefix: name, streamCount: Number(countArg) }),
  });
  for (const nsp of nsps) io.of(nsp);
  let first = true;
  setInterval(() => {
    for (const nsp of nsps) io.of(nsp).emit("n", nsp);
    if (first) process.stdout.write("emitting\n");
    first = false;
  }, 200);
}

main().catch((err) => {
  process.stdout.write("fail main " + (err && err.stack) + "\n");
  process.exit(1);
});
