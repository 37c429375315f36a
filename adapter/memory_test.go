package adapter_test

import (
	"testing"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/adaptertest"
)

func TestMemoryContract(t *testing.T) {
	adaptertest.Run(t, func(*testing.T) adapter.Factory { return adapter.NewMemory })
}
