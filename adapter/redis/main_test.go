package redis

import (
	"testing"

	"github.com/corvid-io/corvid/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheck(m) }
