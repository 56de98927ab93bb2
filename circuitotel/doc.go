// Package circuitotel exports circuit breakers to OpenTelemetry: their
// figures through a metric.Meter, and what happens to each call as events of
// the span in the call's context.
//
// Register reads each breaker's Metrics when the meter's reader collects,
// through observable instruments, and at no other time: a breaker costs
// nothing between collections. SpanEvents is an observer for
// circuit.WithObserver that adds an event to the caller's span when a call
// is rejected, when it fails, and for each change of state it caused.
//
//	payments := circuit.MustNew[*http.Response](circuit.WithName("payments"),
//		circuit.WithObserver(circuitotel.SpanEvents()))
//	reg, err := circuitotel.Register(otel.Meter("shop"), payments)
//	if err != nil {
//		return err
//	}
//	defer reg.Unregister()
//
// The instruments, each with the attribute circuit.name, the breaker's name:
//
//	circuit.breaker.state           Int64ObservableGauge: 1 for the current state, 0 for the others;
//	                                attribute circuit.state: closed, half_open, open, forced_open, disabled
//	circuit.breaker.calls           Int64ObservableCounter, calls since the breaker was made;
//	                                attribute circuit.outcome: success, failure, excluded
//	circuit.breaker.slow_calls      Int64ObservableCounter
//	circuit.breaker.rejected_calls  Int64ObservableCounter
//	circuit.breaker.trips           Int64ObservableCounter: transitions into open
//	circuit.breaker.failure_rate    Float64ObservableGauge over the window, 0..1; -1 while the window
//	circuit.breaker.slow_call_rate  holds fewer calls than the failure-rate rule's minCalls
//	circuit.breaker.window_calls    Int64ObservableUpDownCounter: counted calls in the window
//	circuit.breaker.in_flight_calls Int64ObservableUpDownCounter (kept with WithBulkhead or WithHungCalls)
//	circuit.breaker.hung_calls      Int64ObservableUpDownCounter (kept with WithHungCalls)
//
// They are the figures package circuitprom exports to Prometheus, under
// OpenTelemetry's names. The three call counts in the window are
// up-down counters rather than gauges because they add up across breakers
// and replicas, as OpenTelemetry asks of an up-down counter: the sum of
// in_flight_calls is the calls in flight to every dependency.
package circuitotel
