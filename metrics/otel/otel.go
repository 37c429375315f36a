// Package otel exports the counters of metrics.Counters as OpenTelemetry
// metrics: Register creates one asynchronous instrument per metric of
// Counters.Metrics on a MeterProvider, read at each collection.
//
// It is a nested module (its own go.mod) so that the root module stays free
// of dependencies. The instruments are named "corvid." + the layer + "." +
// the rest of the metric's name, e.g. corvid.engineio.sessions_opened
// (attribute transport), corvid.socketio.disconnects (attribute reason),
// corvid.socketio.sockets_connected; counters are Int64ObservableCounters,
// gauges Int64ObservableGauges; byte counts have the unit "By". The attribute
// values are a fixed set (see package metrics).
//
//	c := metrics.NewCounters()
//	reg, err := corvidotel.Register(otel.GetMeterProvider(), c)
//	...
//	defer reg.Unregister()
package otel

import (
	"context"
	"strings"

	"github.com/corvid-io/corvid/metrics"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the Meter that Register uses.
const ScopeName = "github.com/corvid-io/corvid/metrics/otel"

// Name is the OpenTelemetry name of m ("corvid.engineio.sessions_opened").
func Name(m metrics.Metric) string {
	return "corvid." + strings.Replace(m.Name, "_", ".", 1)
}

// Register creates the instruments of c's metrics on a Meter of mp and the
// callback that observes them. Unregister the returned Registration to stop.
func Register(mp metric.MeterProvider, c *metrics.Counters) (metric.Registration, error) {
	meter := mp.Meter(ScopeName)
	ms := c.Metrics()
	insts := make([]metric.Observable, len(ms))
	// attrs holds the attribute set of each value, built once.
	attrs := make([][]metric.ObserveOption, len(ms))
	for i, m := range ms {
		unit := "1"
		if strings.Contains(m.Name, "_bytes_") {
			unit = "By"
		}
		var err error
		if m.Gauge {
			insts[i], err = meter.Int64ObservableGauge(Name(m), metric.WithDescription(m.Help), metric.WithUnit(unit))
		} else {
			insts[i], err = meter.Int64ObservableCounter(Name(m), metric.WithDescription(m.Help), metric.WithUnit(unit))
		}
		if err != nil {
			return nil, err
		}
		for _, v := range m.Values {
			var o metric.ObserveOption
			if m.LabelName != "" {
				o = metric.WithAttributeSet(attribute.NewSet(attribute.String(m.LabelName, v.Label)))
			}
			attrs[i] = append(attrs[i], o)
		}
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i, m := range c.Metrics() {
			for j, v := range m.Values {
				var opts []metric.ObserveOption
				if a := attrs[i][j]; a != nil {
					opts = []metric.ObserveOption{a}
				}
				switch inst := insts[i].(type) {
				case metric.Int64ObservableCounter:
					o.ObserveInt64(inst, v.N, opts...)
				case metric.Int64ObservableGauge:
					o.ObserveInt64(inst, v.N, opts...)
				}
			}
		}
		return nil
	}, insts...)
}
