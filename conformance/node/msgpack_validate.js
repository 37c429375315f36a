// Feeds socket.io-msgpack-parser 3.0's Decoder each message of a JSON file
// (a list of hex strings) and prints one line per message:
//   result <index> ok <type> <nsp> <id|-> <JSON of data>
//   result <index> err <message>
// then "done". Used by conformance/msgpack_validation_test.go.
"use strict";
const fs = require("fs");
const { Decoder } = require("socket.io-msgpack-parser");

const inputs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
inputs.forEach((hex, i) => {
  const d = new Decoder();
  let out;
  d.on("decoded", (p) => (out = p));
  try {
    d.add(Buffer.from(hex, "hex"));
    const data = out.data === undefined ? "undefined" : JSON.stringify(out.data);
    console.log(`result ${i} ok ${out.type} ${JSON.stringify(out.nsp)} ${out.id === undefined ? "-" : out.id} ${data}`);
  } catch (e) {
    console.log(`result ${i} err ${String(e.message).replace(/\s+/g, "_")}`);
  }
});
console.log("done");
