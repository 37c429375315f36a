// Package fuzz holds the native Go fuzz targets over every decoder of the
// project: the Engine.IO packet and polling payload codec, the JSON Socket.IO
// parser (text packets and binary reassembly), the msgpack codec, the
// msgpack Socket.IO parser and the Redis adapter's messages (adapter/redis/wire).
//
// Each target checks that decoding never panics, that what is decoded stays
// within a small multiple of the input size, and that re-encoding is stable:
// encode(decode(encode(decode(x)))) == encode(decode(x)).
//
// The seed corpus is built by encoding one packet of every kind (f.Add in each
// target) and is also committed under testdata/fuzz/<Target>/; regenerate the
// files after changing the seeds with
//
//	go test ./fuzz -run TestWriteSeedCorpus -update
//
// Run one target with, for example,
//
//	go test ./fuzz -run '^$' -fuzz '^FuzzMsgpack$' -fuzztime 60s
//
// Crashers found by the fuzzer become named regression tests in the package
// that had the bug (or in regress_test.go here).
package fuzz
