// The seed's SocketIOServerHelper (@venizia/ignis-helpers 0.0.7) on a Node
// http server with Redis, for the Go ClientHelper interop test.
//
//   node helper_ignis_server.js <workdir> <port> <redis-url> <auth-timeout-ms> <ping-ms>
//
// Auth: the handshake's auth.token must be "tok-<user>"; the app joins the
// socket to "user:<user>" in clientConnectedFn (the seed has no user room).
// Rooms: the validator allows names starting with "public-".
// Control (same port): GET /ctl/send?dest=&topic=&data=<json> calls helper.send;
// GET /ctl/rooms?id= returns the socket's rooms. Prints "OUT ready", "OUT connected <id>".
const [workdir, port, redisURL, authTimeout, pingMs] = process.argv.slice(2);
process.chdir(workdir); // the module's logger writes APP-*.log files into the cwd
const http = require("http");
const Redis = require("ioredis");
const { SocketIOServerHelper } = require("@venizia/ignis-helpers/socket-io");

const out = (s) => process.stdout.write("OUT " + s + "\n");

async function main() {
  const parent = new Redis(redisURL, { lazyConnect: true });
  let helper;
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, "http://x");
    if (u.pathname === "/ctl/send") {
      helper.send({
        destination: u.searchParams.get("dest") || undefined,
        payload: { topic: u.searchParams.get("topic"), data: JSON.parse(u.searchParams.get("data")) },
      });
      res.end("ok");
      return;
    }
    if (u.pathname === "/ctl/rooms") {
      const s = helper.getIOServer().of("/").sockets.get(u.searchParams.get("id"));
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(s ? [...s.rooms] : null));
      return;
    }
    // socket.io handles its own path; anything else is 404
    if (!u.pathname.startsWith("/socket.io/")) {
      res.statusCode = 404;
      res.end();
    }
  });
  helper = new SocketIOServerHelper({
    identifier: "ignis-server",
    runtime: "node",
    server,
    serverOptions: {},
    redisConnection: { getClient: () => parent },
    authenticateTimeout: Number(authTimeout),
    pingInterval: Number(pingMs),
    authenticateFn: (handshake) => {
      const tok = (handshake.auth && handshake.auth.token) || "";
      return tok.startsWith("tok-") && tok.length > 4;
    },
    validateRoomFn: ({ rooms }) => rooms.filter((r) => r.startsWith("public-")),
    clientConnectedFn: ({ socket }) => {
      socket.join("user:" + socket.handshake.auth.token.slice(4));
      socket.on("echo", (data, ack) => typeof ack === "function" && ack({ echo: data }));
      out("connected " + socket.id);
    },
  });
  await helper.configure();
  server.listen(Number(port), "127.0.0.1", () => out("ready"));
  const stop = async () => {
    await helper.shutdown().catch(() => {});
    parent.disconnect();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
