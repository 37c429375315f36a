package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

func itoa(n int) string { return strconv.Itoa(n) }

type rowKey struct{ scenario, metric string }

// rows groups results by scenario and metric, in the order they came.
func rows(res []Result) ([]rowKey, map[rowKey]map[string]Result) {
	var keys []rowKey
	m := map[rowKey]map[string]Result{}
	for _, r := range res {
		k := rowKey{r.Scenario, r.Metric}
		if m[k] == nil {
			m[k] = map[string]Result{}
			keys = append(keys, k)
		}
		m[k][r.Server] = r
	}
	return keys, m
}

// format prints v with a precision that suits its size.
func format(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return group(strconv.FormatFloat(v, 'f', 0, 64))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// group adds thousands separators to a formatted integer.
func group(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func cell(r Result, ok bool) string {
	if !ok {
		return "n/a"
	}
	s := format(r.Value)
	if r.LowerBound {
		if r.Unit == "ms" || strings.Contains(r.Metric, "CPU") || strings.Contains(r.Metric, "RSS") {
			s += " \\*"
		} else {
			s = "≥ " + s
		}
	}
	return s + fmt.Sprintf(" <sub>lg %.0f%%</sub>", r.LoadgenCPU)
}

func ratio(a, b Result, okA, okB bool) string {
	if !okA || !okB || b.Value == 0 {
		return "n/a"
	}
	return strconv.FormatFloat(a.Value/b.Value, 'f', 2, 64) + "x"
}

// Table renders every figure as a Markdown table: one row per scenario and
// metric, one column per server, the ratios ours/Node and ours/ceiling. Each
// figure carries the load generator's CPU over its stretch ("lg"); "≥" marks a
// throughput measured while the load generator saturated its core (a lower
// bound), "*" any other figure measured so.
func Table(res []Result) string {
	keys, m := rows(res)
	var b strings.Builder
	b.WriteString("| scenario | figure | corvid | node | ceiling | corvid/node | corvid/ceiling |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|\n")
	for _, k := range keys {
		row := m[k]
		c, okC := row[Corvid]
		n, okN := row[Node]
		x, okX := row[Ceiling]
		unit := c.Unit
		if !okC {
			unit = n.Unit
		}
		fmt.Fprintf(&b, "| %s | %s (%s) | %s | %s | %s | %s | %s |\n", k.scenario, k.metric, unit,
			cell(c, okC), cell(n, okN), cell(x, okX), ratio(c, n, okC, okN), ratio(c, x, okC, okX))
	}
	return b.String()
}

// JSONLines renders one JSON object per result, one per line.
func JSONLines(res []Result) []byte {
	var b bytes.Buffer
	for _, r := range res {
		j, _ := json.Marshal(r)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Target is one of the goals, checked against a run's figures.
type Target struct {
	Text   string
	Ratio  float64 // measured ratio (0 when a figure is missing)
	Limit  float64
	AtMost bool // ratio must be <= Limit (else >=)
	Met    bool
	Known  bool // both figures were measured
	// OthersCorvid and OthersOther are the shares of our server's and of the
	// compared server's CPU that other processes took while each figure was
	// measured (-1: unknown). When they differ much, the ratio says more
	// about the machine than about the servers.
	OthersCorvid, OthersOther float64
}

// Targets checks the targets on res.
func Targets(res []Result) []Target {
	_, m := rows(res)
	get := func(sc, metric, srv string) (Result, bool) {
		r, ok := m[rowKey{sc, metric}][srv]
		return r, ok
	}
	var out []Target
	add := func(text, sc, metric, other string, limit float64, atMost bool) {
		ra, okA := get(sc, metric, Corvid)
		rb, okB := get(sc, metric, other)
		a, b := ra.Value, rb.Value
		t := Target{Text: text, Limit: limit, AtMost: atMost, Known: okA && okB && b != 0, OthersCorvid: -1, OthersOther: -1}
		if okA && okB {
			t.OthersCorvid, t.OthersOther = ra.ServerCoreOther, rb.ServerCoreOther
		}
		if t.Known {
			t.Ratio = a / b
			t.Met = t.Ratio >= limit
			if atMost {
				t.Met = t.Ratio <= limit
			}
		}
		out = append(out, t)
	}
	idle := largestIdle(res)
	add("Idle RSS per websocket connection ("+idle+") ≤ 0.6x Node's", idle, "RSS per conn", Node, 0.6, true)
	add("Echo acks/s ≥ 1.6x Node's", "echo", "acks/s", Node, 1.6, false)
	add("Echo acks/s ≥ 0.85x the ceiling's", "echo", "acks/s", Ceiling, 0.85, false)
	add("Echo p99 ≤ 0.6x Node's", "echo", "p99", Node, 0.6, true)
	add("Fanout (as fast as it goes) deliveries/s ≥ 0.9x the ceiling's", "fanout-max", "deliveries/s", Ceiling, 0.9, false)
	add("Fanout (as fast as it goes) p99 ≤ Node's", "fanout-max", "p99", Node, 1, true)
	add("Fanout at a fixed rate: server CPU ≤ 0.85x Node's", "fanout-rate", "server CPU", Node, 0.85, true)
	add("Fanout at a fixed rate: p99 ≤ Node's", "fanout-rate", "p99", Node, 1, true)
	add("Rooms deliveries/s ≥ 2x Node's", "rooms", "deliveries/s", Node, 2, false)
	add("Polling-only echo acks/s ≥ 2x Node's", "polling-echo", "acks/s", Node, 2, false)
	add("Polling-only fanout deliveries/s ≥ 2x Node's", "polling-fanout", "deliveries/s", Node, 2, false)
	return out
}

// largestIdle returns the idle scenario with the most connections in res
// ("idle-10000" when there is none).
func largestIdle(res []Result) string {
	best, bestN := "idle-10000", -1
	for _, r := range res {
		if n, ok := strings.CutPrefix(r.Scenario, "idle-"); ok {
			if v, err := strconv.Atoi(n); err == nil && v > bestN {
				best, bestN = r.Scenario, v
			}
		}
	}
	return best
}

// TargetsTable renders Targets as Markdown.
func TargetsTable(ts []Target) string {
	var b strings.Builder
	b.WriteString("| target | measured ratio | met | server CPU taken by others (corvid / other) |\n|---|---:|:---:|---:|\n")
	for _, t := range ts {
		r, met, others := "n/a", "n/a", "n/a"
		if t.Known {
			r = strconv.FormatFloat(t.Ratio, 'f', 2, 64) + "x"
			met = "no"
			if t.Met {
				met = "yes"
			}
		}
		if t.OthersCorvid >= 0 && t.OthersOther >= 0 {
			others = fmt.Sprintf("%.0f%% / %.0f%%", t.OthersCorvid, t.OthersOther)
			if math.Abs(t.OthersCorvid-t.OthersOther) >= 20 {
				others += " (uneven: ratio uncertain)"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Text, r, met, others)
	}
	return b.String()
}

// Chart is one SVG bar chart of a figure across the servers.
type Chart struct {
	Name, Title string
	SVG         []byte
}

// charted lists the figures drawn, in order.
var charted = []struct{ scenario, metric, title string }{
	{"idle-10000", "RSS per conn", "Idle websocket connections (the largest count): RSS per connection, KiB (lower is better)"},
	{"idle-10000", "conns/s connecting", "Idle websocket connections (the largest count): connections per second while connecting (higher is better)"},
	{"echo", "acks/s", "Echo with acks: acks per second (higher is better)"},
	{"echo", "p99", "Echo with acks: p99 round trip, ms (lower is better)"},
	{"echo", "acks per server CPU-s", "Echo with acks: acks per second of server CPU (higher is better)"},
	{"fanout-max", "deliveries/s", "Fanout as fast as it goes: deliveries per second (higher is better)"},
	{"fanout-rate", "server CPU", "Fanout at a fixed rate: server CPU, % of one core (lower is better)"},
	{"fanout-rate", "p99", "Fanout at a fixed rate: p99 latency, ms (lower is better)"},
	{"rooms", "deliveries/s", "Rooms: deliveries per second (higher is better)"},
	{"rooms", "deliveries per server CPU-s", "Rooms: deliveries per second of server CPU (higher is better)"},
	{"polling-echo", "acks/s", "Polling-only clients, echo: acks per second (higher is better)"},
	{"polling-echo", "acks per server CPU-s", "Polling-only clients, echo: acks per second of server CPU (higher is better)"},
	{"polling-fanout", "deliveries/s", "Polling-only clients, fanout: deliveries per second (higher is better)"},
	{"binary", "acks/s", "Binary attachment echo with ack: acks per second (higher is better)"},
	{"redis", "deliveries/s", "Two nodes on Redis: deliveries per second (higher is better)"},
}

var serverColor = map[string]string{Corvid: "#2b6cb0", Node: "#68a063", Ceiling: "#a0a0a0"}

// Charts draws one horizontal bar chart per charted figure present in res.
// With few results (a smoke run) it draws every figure of the first
// scenario so that the code path is exercised.
func Charts(res []Result) []Chart {
	_, m := rows(res)
	var out []Chart
	idle := largestIdle(res)
	for _, c := range charted {
		if c.scenario == "idle-10000" {
			n, _ := strconv.Atoi(strings.TrimPrefix(idle, "idle-"))
			c.scenario = idle
			c.title = strings.Replace(c.title, "the largest count", group(itoa(n)), 1)
		}
		row := m[rowKey{c.scenario, c.metric}]
		if len(row) == 0 {
			continue
		}
		out = append(out, Chart{Name: c.scenario + "-" + slug(c.metric), Title: c.title, SVG: barChart(c.title, row)})
	}
	if len(out) == 0 && len(res) > 0 {
		k := rowKey{res[0].Scenario, res[0].Metric}
		out = append(out, Chart{Name: k.scenario + "-" + slug(k.metric), Title: k.scenario + " " + k.metric, SVG: barChart(k.scenario+" "+k.metric, m[k])})
	}
	return out
}

func slug(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, c := range s {
		switch c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// barChart draws one bar per server (in table order) with its value; lower
// bounds are labelled "≥".
func barChart(title string, row map[string]Result) []byte {
	const (
		width, left, right, top, barH, gap = 720, 80, 150, 40, 26, 10
	)
	var servers []string
	for _, s := range []string{Corvid, Node, Ceiling} {
		if _, ok := row[s]; ok {
			servers = append(servers, s)
		}
	}
	maxV := 0.0
	for _, s := range servers {
		maxV = math.Max(maxV, row[s].Value)
	}
	if maxV <= 0 {
		maxV = 1
	}
	height := top + len(servers)*(barH+gap) + 10
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", xmlEscape(title))
	plot := float64(width - left - right)
	for i, s := range servers {
		r := row[s]
		y := top + i*(barH+gap)
		w := math.Max(1, plot*math.Max(r.Value, 0)/maxV)
		label := format(r.Value)
		if r.LowerBound {
			label = "≥ " + label
		}
		label += fmt.Sprintf(" (lg %.0f%%)", r.LoadgenCPU)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+barH/2+5, s)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y, w, barH, serverColor[s])
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(left)+w+6, y+barH/2+5, xmlEscape(label))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// sortedScenarios returns the scenario names present in res, in run order.
func sortedScenarios(res []Result) []string {
	var out []string
	for _, r := range res {
		if !slices.Contains(out, r.Scenario) {
			out = append(out, r.Scenario)
		}
	}
	return out
}

// ContentionTable renders, per scenario and server, the share of the
// server's and of the load generator's CPU that other processes (or the
// hypervisor, as steal time) took during the measured stretches.
func ContentionTable(res []Result) string {
	type key struct{ scenario, server string }
	seen := map[key]bool{}
	var b strings.Builder
	b.WriteString("| scenario | server | server's CPU taken by others | load generator's CPU taken by others |\n|---|---|---:|---:|\n")
	n := 0
	for _, r := range res {
		k := key{r.Scenario, r.Server}
		if seen[k] || r.ServerCoreOther < 0 {
			continue
		}
		seen[k] = true
		n++
		fmt.Fprintf(&b, "| %s | %s | %.0f%% | %.0f%% |\n", r.Scenario, r.Server, r.ServerCoreOther, r.LoadCoreOther)
	}
	if n == 0 {
		return ""
	}
	return b.String()
}
