package harness

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPayloadRoundTrip(t *testing.T) {
	b := appendPayload(nil)
	if len(b) != payloadSize+2 {
		t.Fatalf("payload is %d bytes, want %d plus quotes", len(b), payloadSize)
	}
	at, ok := sentAt(append(append([]byte(`["msg",`), b...), ']'))
	if !ok {
		t.Fatalf("sentAt(%s) failed", b)
	}
	if d := time.Since(epoch) - at; d < 0 || d > time.Minute {
		t.Errorf("timestamp %v is %v from now", at, d)
	}
	if _, ok := sentAt([]byte(`["other","123"]`)); ok {
		t.Error("sentAt accepted another event")
	}
}

func TestMedians(t *testing.T) {
	mk := func(v, lg float64) []Result {
		return []Result{{Scenario: "s", Server: Corvid, Metric: "m", Value: v, LoadgenCPU: lg}}
	}
	got := medians([][]Result{mk(3, 95), mk(1, 10), mk(2, 92)})
	if len(got) != 1 || got[0].Value != 2 || got[0].LoadgenCPU != 92 || !got[0].LowerBound {
		t.Errorf("medians = %+v, want value 2, lg 92, lower bound", got)
	}
}

func TestTableAndTargets(t *testing.T) {
	res := []Result{
		{Scenario: "echo", Server: Corvid, Metric: "acks/s", Unit: "1/s", Value: 60000, LoadgenCPU: 50},
		{Scenario: "echo", Server: Node, Metric: "acks/s", Unit: "1/s", Value: 30000, LoadgenCPU: 40},
		{Scenario: "echo", Server: Ceiling, Metric: "acks/s", Unit: "1/s", Value: 80000, LoadgenCPU: 95, LowerBound: true},
	}
	table := Table(res)
	for _, want := range []string{"| echo | acks/s (1/s) | 60,000", "≥ 80,000", "| 2.00x | 0.75x |"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	var met, unmet int
	for _, tg := range Targets(res) {
		if !tg.Known {
			continue
		}
		if tg.Met {
			met++
		} else {
			unmet++
		}
	}
	if met != 1 || unmet != 1 { // 2.00x >= 1.6x Node's; 0.75x < 0.85x the ceiling's
		t.Errorf("targets met %d, unmet %d; want 1 and 1", met, unmet)
	}
	var r Result
	if err := json.Unmarshal(JSONLines(res[:1]), &r); err != nil || r != res[0] {
		t.Errorf("JSON line round trip: %+v, %v", r, err)
	}
	charts := Charts(res)
	if len(charts) != 1 || !strings.Contains(string(charts[0].SVG), "≥ 80,000") || !strings.HasPrefix(string(charts[0].SVG), "<svg") {
		t.Errorf("charts = %d, first: %.200s", len(charts), charts[0].SVG)
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1,234,567", 123.4: "123", 12.34: "12.3", 1.234: "1.23", -1234: "-1,234"} {
		if got := format(v); got != want {
			t.Errorf("format(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestReportDirRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rep := &Report{Commit: "abc", Sizes: SmokeSizes(), Command: "scripts/bench.sh", Start: time.Unix(1700000000, 0).UTC(),
		Elapsed: time.Minute, Pinned: true, ServerCPU: "0", LoadCPU: "1",
		Results: []Result{{Scenario: "echo", Server: Corvid, Metric: "acks/s", Unit: "1/s", Value: 1, ServerCoreOther: 3, LoadCoreOther: -1}}}
	if err := rep.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Commit != "abc" || !got.Start.Equal(rep.Start) || got.Sizes.Rounds != rep.Sizes.Rounds || len(got.Results) != 1 || got.Results[0] != rep.Results[0] {
		t.Errorf("read back %+v, want %+v", got, rep)
	}
	md := string(got.Markdown())
	for _, want := range []string{"commit abc", "| echo | acks/s (1/s) | 1.00", "2023-11-14 22:13 UTC"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
}
