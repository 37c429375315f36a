// Package testutil holds helpers shared by the project's tests: a goroutine leak
// check for TestMain, a runner for the Node.js peers in conformance/, and free
// loopback ports. It is imported by tests only.
package testutil
