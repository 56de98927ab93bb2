// Package circuitprom exports circuit breakers' figures to Prometheus.
//
// A Collector is a prometheus.Collector. It reads each breaker's Metrics
// when it is scraped and at no other time, so a breaker costs nothing
// between scrapes, however many it holds. Register it with the breakers to
// export: any circuit.Source will do, a *circuit.Breaker, a *circuit.Group
// or circuitgrpc's Interceptors.
//
//	payments := circuit.MustNew[*http.Response](circuit.WithName("payments"))
//	col := circuitprom.NewCollector(payments)
//	prometheus.MustRegister(col)
//	http.Handle("/metrics", promhttp.Handler())
//
// Every series has the label name, the breaker's name:
//
//	circuit_breaker_state{state}          gauge: 1 for the current state, 0 for the others;
//	                                      state is closed, half_open, open, forced_open or disabled
//	circuit_breaker_calls_total{outcome}  counter since the breaker was made;
//	                                      outcome is success, failure or excluded
//	circuit_breaker_slow_calls_total      counter
//	circuit_breaker_rejected_calls_total  counter
//	circuit_breaker_trips_total           counter: transitions into open
//	circuit_breaker_failure_rate          gauge over the window, 0..1; -1 while the window
//	circuit_breaker_slow_call_rate        holds fewer calls than the failure-rate rule's minCalls
//	circuit_breaker_window_calls          gauge: counted calls in the window
//	circuit_breaker_in_flight_calls       gauge (kept with WithBulkhead or WithHungCalls)
//	circuit_breaker_hung_calls            gauge (kept with WithHungCalls)
//
// The call-duration histogram, circuit_breaker_call_duration_seconds{name,
// outcome}, is the one figure a snapshot cannot give: it is fed on the call
// path by the observer Collector.Observer returns, given to a breaker with
// circuit.WithObserver. It is off unless that observer is wired.
//
// The module ships alerts.yml, Prometheus alerting rules (CircuitBreakerOpen,
// CircuitBreakerFlapping), and dashboard.json, a Grafana dashboard; the
// guide docs/metrics.md in the circuit repository shows how to load both.
package circuitprom
