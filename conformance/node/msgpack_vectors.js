// Encodes a fixed set of values with notepack.io 3.0.1 and of Socket.IO packets
// with socket.io-msgpack-parser 3.0, and decodes the Go encodings of the same
// cases. The cases are matched by name with conformance/msgpack_node_test.go.
//
// Usage: node msgpack_vectors.js <go-encodings.json>
// The file maps "value:<name>" and "packet:<name>" to the hex Go wrote. For each
// case one line is printed:
//   case <kind:name> <node hex> <ok|fail:reason>
// where the last field says whether Node decoded the Go bytes into a value deeply
// equal to its own. The last line is "done".
"use strict";
const fs = require("fs");
const util = require("util");
const notepack = require("notepack.io");
const { Encoder, Decoder } = require("socket.io-msgpack-parser");

function repeat(n, f) {
  const a = [];
  for (let i = 0; i < n; i++) a.push(f(i));
  return a;
}

function bigMap(n) {
  const o = {};
  for (let i = 0; i < n; i++) o["k" + String(i).padStart(5, "0")] = i % 3 === 0 ? "v" : i;
  return o;
}

const values = {
  zero: 0,
  fixint: 127,
  uint8: 128,
  uint8max: 255,
  uint16: 256,
  uint16max: 65535,
  uint32: 65536,
  uint32max: 4294967295,
  uint64: 4294967296,
  safemax: Number.MAX_SAFE_INTEGER,
  negfix: -1,
  negfixmin: -32,
  int8: -33,
  int8min: -128,
  int16: -129,
  int16min: -32768,
  int32: -32769,
  int32min: -2147483648,
  int64: -2147483649,
  safemin: Number.MIN_SAFE_INTEGER,
  float: 1.5,
  negfloat: -0.1,
  tiny: 5e-324,
  huge: 1.7976931348623157e308,
  inf: Infinity,
  neginf: -Infinity,
  nil: null,
  t: true,
  f: false,
  str0: "",
  str31: "a".repeat(31),
  str32: "b".repeat(32),
  str255: "c".repeat(255),
  str256: "d".repeat(256),
  str65535: "e".repeat(65535),
  str65536: "f".repeat(65536),
  unicode: "héllo wörld ✓ 😀",
  bin0: Buffer.alloc(0),
  bin: Buffer.from([0, 1, 2, 255]),
  bin256: Buffer.alloc(256, 7),
  bin65536: Buffer.alloc(65536, 9),
  arr0: [],
  arr15: repeat(15, (i) => i),
  arr16: repeat(16, (i) => i),
  arr65535: repeat(65535, (i) => i & 1),
  arr65536: repeat(65536, (i) => i & 1),
  map0: {},
  map15: bigMap(15),
  map16: bigMap(16),
  map65536: bigMap(65536),
  nested: { a: [1, { b: [null, true, "x", Buffer.from([1])] }], c: { d: { e: -1.25 } } },
  date: new Date(1700000000123),
  date32: new Date(Date.UTC(2000, 5, 13)),
};

const packets = {
  event: { type: 2, data: ["hello", 1, "two", Buffer.from([1, 2, 3]), { a: [true, null] }], nsp: "/" },
  eventID: { type: 2, data: ["ev", { n: 1.5 }], id: 12, nsp: "/admin" },
  eventBigID: { type: 2, data: ["ev"], id: 4294967296, nsp: "/" },
  eventBinary: { type: 2, data: ["file", { name: "a", body: Buffer.alloc(300, 1) }, [Buffer.from([5])]], nsp: "/ns" },
  eventDate: { type: 2, data: ["when", new Date(1700000000123)], nsp: "/" },
  ack: { id: 300, type: 3, data: [{ x: 1.5 }, "ok"], nsp: "/" },
  ackEmpty: { id: 0, type: 3, data: [], nsp: "/" },
  connect: { type: 0, data: { sid: "abc", pid: "def" }, nsp: "/" },
  connectNoData: { type: 0, data: undefined, nsp: "/x" },
  disconnect: { type: 1, nsp: "/" },
  connectError: { type: 4, data: { message: "nope", data: { code: 1 } }, nsp: "/" },
  connectErrorString: { type: 4, data: "denied", nsp: "/" },
};

const goHex = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));

function check(name, own, decode) {
  const hex = goHex[name];
  if (hex === undefined) return "fail:missing";
  try {
    const got = decode(Buffer.from(hex, "hex"));
    return util.isDeepStrictEqual(got, own) ? "ok" : "fail:differs:" + JSON.stringify(got).slice(0, 200);
  } catch (e) {
    return "fail:" + String(e.message).replace(/\s/g, "_");
  }
}

for (const [name, v] of Object.entries(values)) {
  const hex = notepack.encode(v).toString("hex");
  console.log(`case value:${name} ${hex} ${check("value:" + name, v, (b) => notepack.decode(b))}`);
}

const encoder = new Encoder();
for (const [name, p] of Object.entries(packets)) {
  const hex = encoder.encode(p)[0].toString("hex");
  const res = check("packet:" + name, p, (b) => {
    const d = new Decoder();
    let out;
    d.on("decoded", (x) => (out = x));
    d.add(b);
    return out;
  });
  console.log(`case packet:${name} ${hex} ${res}`);
}
console.log("done");
