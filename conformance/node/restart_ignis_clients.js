// N clients of the seed's SocketIOClientHelper (@venizia/ignis-helpers)
// with reconnection on, for the rolling-restart test. Client i connects to
// urls[i % urls.length] with the token "tok-u<i>"; like the seed's apps, each
// authenticates in onConnected, so it authenticates again after every
// reconnection.
//
//   node restart_ignis_clients.js <workdir> <n> <url>...
//
// Prints: OUT auth <i> <socket id> | OUT disc <i> <reason> | OUT unauth <i> <msg>
const [workdir, nArg, ...urls] = process.argv.slice(2);
process.chdir(workdir); // the module's logger writes APP-*.log files into the cwd
const { SocketIOClientHelper } = require("@venizia/ignis-helpers/socket-io");

const out = (s) => process.stdout.write("OUT " + s + "\n");
const clients = [];
for (let i = 0; i < Number(nArg); i++) {
  const c = new SocketIOClientHelper({
    identifier: "ignis-restart-" + i,
    host: urls[i % urls.length],
    options: {
      path: "/socket.io/",
      extraHeaders: {},
      auth: { token: "tok-u" + i },
      transports: ["websocket"],
      reconnection: true,
      reconnectionDelay: 50,
      reconnectionDelayMax: 200,
    },
    onConnected: () => c.authenticate(),
    onDisconnected: (reason) => out("disc " + i + " " + reason),
    onUnauthenticated: (message) => out("unauth " + i + " " + message),
    onAuthenticated: () => out("auth " + i + " " + c.getSocketClient().id),
  });
  clients.push(c);
}
process.on("SIGTERM", () => {
  for (const c of clients) c.shutdown();
  process.exit(0);
});
