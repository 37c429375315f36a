// Encodes and decodes Socket.IO packets with the real socket.io-parser, for
// conformance/parser_node_test.go.
//
//   node parser_vectors.js encode FILE   FILE: one packet per line
//                                        {"type":2,"nsp":"/","id":1,"data":[...]}
//                                        prints {"i":N,"msgs":[{"text":"..."}|{"bin":"hex"}]}
//   node parser_vectors.js decode FILE   FILE: one message list per line
//                                        [{"text":"..."},{"bin":"hex"}]
//                                        prints {"i":N,"packet":{...}} or {"i":N,"error":"..."}
//
// Binary values are written {"$bin":"hex"} in both directions. Every line of
// output is one JSON object; the last line is {"done":N}.
"use strict";

const fs = require("fs");
const { Encoder, Decoder } = require("socket.io-parser");

function toJS(v) {
  if (Array.isArray(v)) return v.map(toJS);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    const out = {};
    for (const k of Object.keys(v)) out[k] = toJS(v[k]);
    return out;
  }
  return v;
}

function fromJS(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return { $bin: Buffer.from(v).toString("hex") };
  }
  if (Array.isArray(v)) return v.map(fromJS);
  if (v && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) out[k] = fromJS(v[k]);
    return out;
  }
  return v;
}

const [mode, file] = process.argv.slice(2);
const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0);
const print = (o) => process.stdout.write(JSON.stringify(o) + "\n");

lines.forEach((line, i) => {
  const spec = JSON.parse(line);
  if (mode === "encode") {
    const packet = { type: spec.type, nsp: spec.nsp };
    if (spec.id !== undefined) packet.id = spec.id;
    if (spec.data !== undefined) packet.data = toJS(spec.data);
    const out = new Encoder().encode(packet);
    print({
      i,
      msgs: out.map((m) => (typeof m === "string" ? { text: m } : { bin: Buffer.from(m).toString("hex") })),
    });
  } else if (mode === "decode") {
    const decoder = new Decoder();
    const got = [];
    decoder.on("decoded", (p) => got.push(p));
    try {
      for (const m of spec) {
        decoder.add(m.text !== undefined ? m.text : Buffer.from(m.bin, "hex"));
      }
      if (got.length !== 1) {
        print({ i, error: "decoded " + got.length + " packets" });
        return;
      }
      const p = got[0];
      const packet = { type: p.type, nsp: p.nsp };
      if (p.id !== undefined) packet.id = p.id;
      if (p.data !== undefined) packet.data = fromJS(p.data);
      print({ i, packet });
    } catch (e) {
      print({ i, error: String(e && e.message) });
    }
  } else {
    throw new Error("unknown mode " + mode);
  }
});
print({ done: lines.length });
