// Package parser compares the Socket.IO packet codec of corvid with the one of
// github.com/zishang520/socket.io on the same packets.
package parser
