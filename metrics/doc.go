// Package metrics counts what a server's observers see, with no dependency
// beyond the standard library, and publishes the counts through expvar.
//
// The layers each have their own observer interface: engineio.Observer
// (sessions opened and closed with their Reason, ReasonSlowConsumer among
// them; requests refused by cause; upgrades; messages and bytes in and out
// per transport) and socketio.Observer (sockets connected and disconnected
// with their reason, acknowledgement timeouts, recoveries and their misses,
// adapter failures, a cluster publication that did not go out among them).
// Counters implements both with atomic counters; RedisEvent takes the Events
// of adapter/redis (drops, resubscribes, failed publications):
//
//	c := metrics.NewCounters()
//	srv := socketio.NewServer(&socketio.ServerOptions{
//		Observer: c,
//		Engine:   &engineio.ServerOptions{Observer: c},
//	})
//	a := redis.NewAdapter(client, &redis.Options{OnEvent: func(e redis.Event) { c.RedisEvent(e.Kind) }})
//	c.Publish("corvid") // expvar, at /debug/vars
//
// Cost: an unset observer costs its nil check. Counters adds two atomic
// additions per message in or out (at most a few more per connection event)
// and no allocation. Its memory is fixed: values are kept per transport,
// reason, cause and kind, never per namespace, socket or client, so no peer
// can grow it. Bytes are the messages' payloads (what Session.Send and
// Session.Read see), without the transports' framing.
//
// Metrics returns every value with a name, help text, kind (counter or
// gauge) and label; the nested modules metrics/prometheus (a Prometheus
// Collector) and metrics/otel (OpenTelemetry instruments) export it, each
// with its own go.mod so that this module stays dependency-free.
//
// Observers run on the servers' goroutines, some under a session's lock: an
// Observer of your own must return quickly and never block (see
// engineio.Observer).
package metrics
