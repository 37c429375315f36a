// Package prometheus exports the counters of metrics.Counters to Prometheus:
// NewCollector returns a prometheus.Collector that reads them at each scrape.
//
// It is a nested module (its own go.mod) so that the root module stays free
// of dependencies. Every metric of Counters.Metrics is exported with the
// prefix "corvid_"; counters get the suffix "_total" and gauges none, e.g.
// corvid_engineio_sessions_opened_total{transport="websocket"},
// corvid_socketio_disconnects_total{reason="transport close"},
// corvid_socketio_sockets_connected. The label values are a fixed set (see
// package metrics), so the series are few and bounded.
//
//	c := metrics.NewCounters()
//	prometheus.MustRegister(corvidprom.NewCollector(c))
//	http.Handle("/metrics", promhttp.Handler())
package prometheus

import (
	"github.com/corvid-io/corvid/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector is a prometheus.Collector of a metrics.Counters.
type Collector struct {
	c     *metrics.Counters
	descs []*prometheus.Desc // in the order of Counters.Metrics
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector reading c.
func NewCollector(c *metrics.Counters) *Collector {
	col := &Collector{c: c}
	for _, m := range c.Metrics() {
		var labels []string
		if m.LabelName != "" {
			labels = []string{m.LabelName}
		}
		col.descs = append(col.descs, prometheus.NewDesc(Name(m), m.Help, labels, nil))
	}
	return col
}

// Name is the Prometheus name of m: "corvid_" + m.Name, and "_total" for a
// counter.
func Name(m metrics.Metric) string {
	if m.Gauge {
		return "corvid_" + m.Name
	}
	return "corvid_" + m.Name + "_total"
}

// Describe implements prometheus.Collector.
func (col *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range col.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (col *Collector) Collect(ch chan<- prometheus.Metric) {
	for i, m := range col.c.Metrics() {
		kind := prometheus.CounterValue
		if m.Gauge {
			kind = prometheus.GaugeValue
		}
		for _, v := range m.Values {
			if m.LabelName == "" {
				ch <- prometheus.MustNewConstMetric(col.descs[i], kind, float64(v.N))
			} else {
				ch <- prometheus.MustNewConstMetric(col.descs[i], kind, float64(v.N), v.Label)
			}
		}
	}
}
