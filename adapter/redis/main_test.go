package redis

import (
	"fmt"
	"os"
	"testing"

	"github.com/corvid-io/corvid/internal/testutil"
)

// ExampleRedisURL is the redis-server that TestMain starts for the runnable
// Examples (package redis_test); it exists in tests only.
var ExampleRedisURL string

func TestMain(m *testing.M) {
	url, stop, err := testutil.LaunchRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, "redis for the examples:", err)
		os.Exit(1)
	}
	ExampleRedisURL = url
	testutil.LeakCheck(m, stop)
}
