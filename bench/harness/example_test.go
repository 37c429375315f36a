package harness_test

import (
	"fmt"

	"github.com/corvid-io/corvid/bench/harness"
)

// Table renders the figures of a run, one row per scenario and figure, with
// the ratios of our server to the others.
func ExampleTable() {
	res := []harness.Result{
		{Scenario: "echo", Server: harness.Corvid, Metric: "acks/s", Unit: "1/s", Value: 60000, LoadgenCPU: 70},
		{Scenario: "echo", Server: harness.Node, Metric: "acks/s", Unit: "1/s", Value: 30000, LoadgenCPU: 60},
	}
	fmt.Print(harness.Table(res))
	// Output:
	// | scenario | figure | corvid | node | ceiling | corvid/node | corvid/ceiling |
	// |---|---|---:|---:|---:|---:|---:|
	// | echo | acks/s (1/s) | 60,000 <sub>lg 70%</sub> | 30,000 <sub>lg 60%</sub> | n/a | 2.00x | n/a |
}
