// Package wire holds the messages that Socket.IO servers exchange through Redis,
// as typed Go values with encoders and decoders that read and write exactly what
// the npm packages do:
//
//   - the classic protocol of @socket.io/redis-adapter 8.3 createAdapter and of
//     @socket.io/redis-emitter 5.1: the broadcast [uid, packet, opts] (msgpack)
//     and the requests and responses of RequestType (JSON, or msgpack for the
//     acknowledged broadcast and its acks);
//   - the cluster protocol of socket.io-adapter 2.5 ClusterAdapter used by
//     createShardedAdapter: the envelope {type, data, uid, nsp} (JSON, or msgpack
//     when its data holds binary).
//
// One extension of Corvid's rides on them: the refusal of an answer too large
// (TooLarge), an ordinary answer with an empty list and an extra key that
// Node ignores.
//
// Decoders sniff the format the way Node does: a message starting with '{' is
// JSON, anything else msgpack (notepack.io). Encoders never write a nil list:
// Node expects [] where it iterates. Binary values ([]byte) travel as msgpack bin;
// in JSON they are written as Node writes a Buffer, {"type":"Buffer","data":[..]}.
//
// Decoded argument values are plain Go trees: map[string]any, []any, string,
// float64 (JSON) or the msgpack decoder's numbers, bool, nil and []byte.
package wire
