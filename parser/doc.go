// Package parser encodes and decodes Socket.IO v5 packets.
//
// A Parser turns a Packet into Engine.IO messages (the text packet, then one
// binary message per attachment) and gives each connection a Decoder that
// reassembles them. JSON, the default, is byte-compatible with npm
// socket.io-parser 4.2.
package parser
