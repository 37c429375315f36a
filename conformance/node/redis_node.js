// A npm socket.io 4.8 server with @socket.io/redis-adapter 8.3, plus real
// socket.io-client clients and an @socket.io/redis-emitter, driven by the Go
// tests (conformance/redis_*_test.go) through an HTTP control endpoint.
//
// Usage: node redis_node.js <redis> <mode> <key>
//   <redis>  redis://host:port, or cluster:host:port,host:port,... for a Redis Cluster
//   <mode>   classic | classic-json | sharded-dynamic | sharded-static | sharded-dynamic-private
//            (classic-json: the classic adapter and the emitter with a JSON parser)
//   <key>    the channel prefix (key / channelPrefix)
//
// It prints "listening <port>" once its adapters are subscribed. Then
// POST /ctl with a JSON command {op, ...} answers {ok, result} or {ok:false, error}.
// Binary arguments travel in commands as {"$bin":[bytes]} and come back in
// results as Node's JSON of a Buffer, {"type":"Buffer","data":[bytes]}.
"use strict";

const http = require("http");
const { Server } = require("socket.io");
const { io: ioc } = require("socket.io-client");
const { createClient, createCluster } = require("redis");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const { Emitter } = require("@socket.io/redis-emitter");

const [redisArg, mode, key] = process.argv.slice(2);
const NSPS = ["/", "/custom"];

function out(line) {
  process.stdout.write(line + "\n");
}

function redisClient() {
  if (redisArg.startsWith("cluster:")) {
    const rootNodes = redisArg
      .slice("cluster:".length)
      .split(",")
      .map((a) => ({ url: "redis://" + a }));
    return createCluster({ rootNodes });
  }
  return createClient({ url: redisArg });
}

// fromWire turns {"$bin":[..]} into Buffers, at any depth.
function fromWire(v) {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === "object") {
    if (Array.isArray(v.$bin)) return Buffer.from(v.$bin);
    const o = {};
    for (const k of Object.keys(v)) o[k] = fromWire(v[k]);
    return o;
  }
  return v;
}

function target(op, cmd) {
  if (cmd.rooms && cmd.rooms.length) op = op.to(cmd.rooms);
  if (cmd.except && cmd.except.length) op = op.except(cmd.except);
  if (cmd.volatile) op = op.volatile;
  if (cmd.local) op = op.local;
  return op;
}

async function main() {
  const pub = redisClient();
  const sub = pub.duplicate();
  const emitterClient = pub.duplicate();
  for (const c of [pub, sub, emitterClient]) c.on("error", (e) => console.error("redis:", e.message));
  await Promise.all([pub.connect(), sub.connect(), emitterClient.connect()]);

  const clients = new Map();
  const sse = [];
  const httpServer = http.createServer(control);
  const io = new Server(httpServer, {});
  const parser = mode === "classic-json" ? { encode: JSON.stringify, decode: JSON.parse } : undefined;
  if (mode.startsWith("classic")) {
    const opts = { key, requestsTimeout: 3000 };
    if (parser) opts.parser = parser;
    io.adapter(createAdapter(pub, sub, opts));
  } else {
    io.adapter(
      createShardedAdapter(pub, sub, {
        channelPrefix: key,
        subscriptionMode: mode.replace(/^sharded-/, ""),
      })
    );
  }
  const emitter = new Emitter(emitterClient, parser ? { key, parser } : { key });

  for (const name of NSPS) {
    const nsp = io.of(name);
    nsp.on("connection", (socket) => {
      const q = socket.handshake.query;
      socket.data = { side: "node", name: q.name };
      if (q.rooms) socket.join(q.rooms.split(","));
    });
    nsp.on("sse", (...args) => {
      const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
      sse.push({ nsp: name, args });
      if (cb) cb("node-ack-" + args[0]);
    });
  }

  const ops = {
    // clients
    connect(cmd) {
      const s = ioc(cmd.url + (cmd.nsp || "/"), {
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        query: { name: cmd.name, rooms: (cmd.rooms || []).join(",") },
      });
      const rec = { s, events: [], disconnects: [] };
      clients.set(cmd.name, rec);
      s.onAny((ev, ...args) => {
        const cb = typeof args[args.length - 1] === "function" ? args.pop() : null;
        rec.events.push([ev, ...args]);
        if (cb) cb("ack-" + cmd.name);
      });
      s.on("disconnect", (reason) => rec.disconnects.push(reason));
      return new Promise((resolve, reject) => {
        s.on("connect", () => resolve({ id: s.id }));
        s.on("connect_error", (e) => reject(e));
      });
    },
    client(cmd) {
      const rec = clients.get(cmd.name);
      return { id: rec.s.id || "", connected: rec.s.connected, events: rec.events, disconnects: rec.disconnects };
    },
    // this server's sockets
    rooms(cmd) {
      const s = io.of(cmd.nsp || "/").sockets.get(cmd.id);
      return s ? [...s.rooms] : null;
    },
    sse() {
      return sse;
    },
    async serverCount(cmd) {
      return await io.of(cmd.nsp || "/").adapter.serverCount();
    },
    async allRooms(cmd) {
      return [...(await io.of(cmd.nsp || "/").adapter.allRooms())];
    },
    // cluster operations started on this server
    emit(cmd) {
      target(io.of(cmd.nsp || "/"), cmd).emit(cmd.event, ...fromWire(cmd.args || []));
    },
    async emitWithAck(cmd) {
      try {
        const r = await target(io.of(cmd.nsp || "/"), cmd)
          .timeout(cmd.timeout || 2000)
          .emitWithAck(cmd.event, ...fromWire(cmd.args || []));
        return { responses: r };
      } catch (e) {
        return { error: e.message };
      }
    },
    async fetchSockets(cmd) {
      const ss = await target(io.of(cmd.nsp || "/"), cmd).fetchSockets();
      return ss.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data, handshake: s.handshake }));
    },
    async remote(cmd) {
      const ss = await io.of(cmd.nsp || "/").fetchSockets();
      const s = ss.find((x) => x.id === cmd.id);
      if (!s) throw new Error("no remote socket " + cmd.id);
      switch (cmd.action) {
        case "emit":
          s.emit(cmd.event, ...fromWire(cmd.args || []));
          break;
        case "join":
          s.join(cmd.room);
          break;
        case "leave":
          s.leave(cmd.room);
          break;
        case "disconnect":
          s.disconnect(!!cmd.close);
          break;
        case "emitWithAck":
          return await s.timeout(2000).emitWithAck(cmd.event, ...fromWire(cmd.args || []));
      }
      return null;
    },
    socketsJoin(cmd) {
      target(io.of(cmd.nsp || "/"), cmd).socketsJoin(cmd.join);
    },
    socketsLeave(cmd) {
      target(io.of(cmd.nsp || "/"), cmd).socketsLeave(cmd.leave);
    },
    disconnectSockets(cmd) {
      target(io.of(cmd.nsp || "/"), cmd).disconnectSockets(!!cmd.close);
    },
    serverSideEmit(cmd) {
      io.of(cmd.nsp || "/").serverSideEmit("sse", ...fromWire(cmd.args || []));
    },
    async serverSideEmitWithAck(cmd) {
      try {
        const r = await io
          .of(cmd.nsp || "/")
          .serverSideEmitWithAck("sse", ...fromWire(cmd.args || []));
        return { responses: r };
      } catch (e) {
        return { error: e.message };
      }
    },
    // @socket.io/redis-emitter
    emitter(cmd) {
      let e = emitter.of(cmd.nsp || "/");
      if (cmd.rooms && cmd.rooms.length) e = e.to(cmd.rooms);
      if (cmd.except && cmd.except.length) e = e.except(cmd.except);
      if (cmd.volatile) e = e.volatile;
      switch (cmd.action) {
        case "emit":
          e.emit(cmd.event, ...fromWire(cmd.args || []));
          break;
        case "join":
          e.socketsJoin(cmd.join);
          break;
        case "leave":
          e.socketsLeave(cmd.leave);
          break;
        case "disconnect":
          e.disconnectSockets(!!cmd.close);
          break;
        case "sse":
          e.serverSideEmit("sse", ...fromWire(cmd.args || []));
          break;
      }
    },
  };

  async function control(req, res) {
    if (req.url !== "/ctl" || req.method !== "POST") {
      res.writeHead(404);
      res.end();
      return;
    }
    let body = "";
    for await (const chunk of req) body += chunk;
    let reply;
    try {
      const cmd = JSON.parse(body);
      const fn = ops[cmd.op];
      if (!fn) throw new Error("unknown op " + cmd.op);
      const r = await fn(cmd);
      reply = { ok: true, result: r === undefined ? null : r };
    } catch (e) {
      reply = { ok: false, error: String(e && e.message) };
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(reply));
  }

  // Wait until this server's subscriptions are counted by Redis.
  for (let i = 0; i < 200; i++) {
    const counts = await Promise.all(NSPS.map((n) => io.of(n).adapter.serverCount()));
    if (counts.every((c) => c >= 1)) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  httpServer.listen(0, "127.0.0.1", () => out("listening " + httpServer.address().port));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
