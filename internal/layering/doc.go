// Package layering holds no code: its test enforces the import rules of
// ARCHITECTURE.md ("Layers") on the output of `go list -deps -json ./...`, so
// that a change breaking them fails in CI rather than in review.
//
// The rules, checked on every package's non-test imports:
//
//   - Each package of the module imports only the module packages its layer
//     allows: parser only internal/msgpack; engineio only internal/httpgate (it
//     knows nothing of Socket.IO); adapter only parser, and adapter/redis only adapter, its wire
//     subpackage, parser and internal/msgpack (no server: no socketio, no
//     engineio); socketio engineio, parser and adapter; metrics engineio,
//     socketio and adapter (no rueidis: Redis events come in as a Stringer);
//     helper any package that is not internal (public APIs only). A new
//     package must be given a rule.
//   - Outside the module, core packages import only the standard library and
//     github.com/coder/websocket; github.com/redis/rueidis only under
//     adapter/redis.
//   - parser depends on no net and no net/http, even indirectly.
//   - helper does not depend on rueidis, even indirectly (Redis support lives
//     in a package of its own that a user imports when wanted).
//   - No package imports internal/testutil outside its tests.
package layering
