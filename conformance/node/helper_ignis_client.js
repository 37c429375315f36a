// The seed's SocketIOClientHelper (@venizia/ignis-helpers 0.0.7) against our
// Go ServerHelper, for the interop test.
//
//   node helper_ignis_client.js <workdir> <url> <token> <transport> [room...]
//
// It authenticates when connected (with no payload, as the seed does), joins
// the rooms once authenticated, and prints one line per event:
//   OUT connected <id> | OUT authenticated <json> | OUT unauthenticated <msg>
//   OUT ping <json> | OUT msg <topic> <json> | OUT disconnected <reason> | OUT joined
const [workdir, url, token, transport, ...rooms] = process.argv.slice(2);
process.chdir(workdir); // the module's logger writes APP-*.log files into the cwd
const { SocketIOClientHelper } = require("@venizia/ignis-helpers/socket-io");

const out = (s) => process.stdout.write("OUT " + s + "\n");
let client;
client = new SocketIOClientHelper({
  identifier: "ignis-client",
  host: url,
  options: { path: "/socket.io/", extraHeaders: {}, auth: { token }, transports: [transport], reconnection: false },
  onConnected: () => {
    out("connected " + client.getSocketClient().id);
    client.authenticate();
  },
  onDisconnected: (reason) => out("disconnected " + reason),
  onUnauthenticated: (message) => out("unauthenticated " + message),
  onAuthenticated: () => {
    if (rooms.length) client.joinRooms({ rooms });
    out("joined");
  },
  onError: (e) => out("error " + e.message),
});
const sock = client.getSocketClient();
// The helper's own subscribe() skips events it listens to itself
// (authenticated, ping): listen on the raw socket to see their payloads.
sock.on("authenticated", (d) => out("authenticated " + JSON.stringify(d)));
sock.on("ping", (d) => out("ping " + JSON.stringify(d)));
client.subscribeMany({
  events: {
    direct: (d) => out("msg direct " + JSON.stringify(d)),
    room: (d) => out("msg room " + JSON.stringify(d)),
    user: (d) => out("msg user " + JSON.stringify(d)),
    all: (d) => out("msg all " + JSON.stringify(d)),
  },
});
process.on("SIGTERM", () => {
  client.shutdown();
  process.exit(0);
});
