// Package circuitdebug serves a status page of circuit breakers: one HTML
// page, with no external assets, that lists every breaker with its state,
// window figures, totals and recent transitions, and keeps itself up to date
// through Server-Sent Events without a reload. The same figures are served as
// JSON for scripts.
//
// Mount it on any path, usually behind the same access control as pprof:
//
//	mux.Handle("/debug/circuit/", http.StripPrefix("/debug/circuit",
//		circuitdebug.Handler(paymentsBreaker, hostsGroup)))
//
// Every URL it serves is the path it is mounted on with a query, so it works
// under any prefix, with or without http.StripPrefix:
//
//	GET ?                  the HTML page
//	GET ?format=json       one snapshot as JSON
//	GET ?stream=1          an event stream: a snapshot at once, then one every
//	                       Page.Interval (1s), until the client goes away
//
// All three take the same parameters, which choose the rows:
//
//	q=substring   only the breakers whose name contains it, case-insensitively
//	limit=n       at most n rows (default 200, at most 5000; 0 means the default)
//	offset=n      skip the first n rows that match (default 0)
//
// The rows are sorted with every breaker that is not Closed first, then by
// name, so the ones that need a look come first however many breakers there
// are. Any other method than GET or HEAD gets 405, a malformed parameter
// 400.
//
// # JSON
//
// ?format=json, and the data of each event named "snapshot" on ?stream=1 (one
// line), is one object:
//
//	{
//	  "time":    "2025-01-02T15:04:05.123Z", // when it was taken (UTC)
//	  "total":   1203,                       // breakers in all sources
//	  "states":  {"open": 2, "closed": 1201}, // breakers in each state, of all; absent states are 0
//	  "query":   "pay",                      // q as given
//	  "matched": 3,                          // breakers whose name matches q
//	  "offset":  0,                          // offset as used
//	  "limit":   200,                        // limit as used
//	  "breakers": [                          // the page's rows, in order; [] when none
//	    {
//	      "name":  "payments",
//	      "state": "open",      // closed, half-open, open, forced-open or disabled
//	      // the rolling window (circuit.Metrics):
//	      "calls": 31, "successes": 12, "failures": 19, "slow_calls": 0, "excluded": 1,
//	      "failure_rate": 0.6129, "slow_call_rate": 0, // in [0, 1]
//	      "min_calls": 10,      // with fewer calls the rates trip nothing
//	      "consecutive_failures": 7,
//	      "in_flight": 0, "hung": 0,
//	      // counters since the breaker was made:
//	      "rejected": 240, "trips": 1, "store_errors": 0,
//	      "totals": {"successes": 9120, "failures": 31, "slow_calls": 4, "excluded": 2},
//	      // recent transitions, oldest first (at most circuit.HistoryLength);
//	      // null when the source keeps none (is no circuit.History)
//	      "transitions": [
//	        {"from": "closed", "to": "open", "at": "2025-01-02T15:03:58.9Z",
//	         "reason": "failure rate 61% >= 50% over 31 calls"}
//	      ]
//	    }
//	  ]
//	}
//
// New fields may be added; none will change meaning.
//
// # Cost
//
// Each response reads every breaker's Metrics once, and the transitions of the
// rows it returns; an open page costs that once per Interval. The event
// stream runs on its request's goroutine and ends with the request's context.
package circuitdebug
