// Package parser encodes and decodes Socket.IO v5 packets.
//
// A [Parser] turns a [Packet] into Engine.IO messages (the text packet, then
// one binary message per attachment) and gives each connection a [Decoder]
// that reassembles them. [JSON], the default, is byte-compatible with npm
// socket.io-parser 4.2; the msgpack parser is compatible with
// socket.io-msgpack-parser.
//
// # Text encoding
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// The namespace "/" is omitted. Decoding also accepts a namespace without the
// trailing comma ("40/custom"). Encoding follows JSON.stringify: compact, no
// escaping of <, > and &, numbers in JavaScript's shortest form (1, 1.5,
// 1e+21), NaN and infinities as null. Go maps have no order, so their keys
// are written in the order a JavaScript object would list them had they been
// added sorted: integer-like keys first, numerically, then the others.
//
// # Arguments
//
// Outgoing packets carry Go values. The common kinds (strings, numbers,
// booleans, nil, []any, map[string]any, []byte, json.RawMessage,
// json.Marshaler, and received [Value]s) are encoded without reflection;
// anything else (structs with their json tags, typed slices and maps,
// pointers) through reflection. A []byte at any depth becomes a binary
// attachment: the value is replaced by {"_placeholder":true,"num":N}, the
// packet becomes BINARY_EVENT or BINARY_ACK, and the bytes travel as their own
// binary message, as socket.io-parser does for Buffers: in struct fields
// (embedded ones included), typed slices and maps, behind pointers and
// interfaces alike. What a json.Marshaler writes is used as it is, so a []byte
// it writes (as base64, with encoding/json) is not binary; a [N]byte array is
// a list of numbers, as in encoding/json. [AppendPacket] encodes into a
// caller's buffer and allocates nothing for the common kinds.
//
// [Tree] gives a value as a peer decodes it (maps, lists, strings, numbers,
// booleans, nil and []byte): the form in which the adapters hand a value to
// other servers, so that a client of another server receives what a client of
// this one does. It loses what a tree cannot hold: the order of a struct's
// fields (a map's members come sorted) and integers beyond 2^53.
//
// Decoded packets carry each argument as a [Value]: the event name is decoded
// eagerly (it is needed for dispatch), the rest stays raw until Decode is
// called, which works like json.Unmarshal with placeholders resolving to
// []byte at any depth. A received Value passed back to an encoder (an echo, a
// relay) is re-emitted from its raw form, its attachments renumbered into the
// new packet.
//
// # Validation
//
// Decoders refuse, with an [*Error] whose Kind is one of the Err* sentinels,
// what the reference refuses: unknown types, bad attachment counts, more
// attachments than JSONOptions.MaxAttachments (default 10), payloads of the
// wrong shape (CONNECT: object or none; CONNECT_ERROR: object or string;
// EVENT: non-empty array starting with a string or number name; ACK: array;
// DISCONNECT: none), reserved event names (connect, connect_error, disconnect,
// disconnecting, newListener, removeListener), and malformed JSON. They are
// stricter than the reference in a few places: an empty message, an EVENT,
// ACK or CONNECT_ERROR without payload, ack ids beyond 64 bits, and any
// placeholder abuse (a placeholder in a packet without attachments, a num
// that is out of range, not a plain integer or used twice, members other
// than _placeholder and num, or a count of placeholders different from the
// declared attachments) are errors. A binary message when no binary packet
// is pending, and a text message while one is, are errors too.
//
// Decoded packets and their Values share memory with the messages fed to the
// decoder, which must not be modified afterwards.
package parser
