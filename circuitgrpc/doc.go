// Package circuitgrpc puts a circuit breaker per target in front of a gRPC
// client, as a unary and a stream client interceptor.
//
// Interceptors keeps one breaker per key: by default the target a
// ClientConn was made for, so one failing server never opens another
// server's breaker; ByMethod keys by method instead, and WithKey by anything.
// Wire both interceptors into grpc.NewClient:
//
//	cb, err := circuitgrpc.New(circuitgrpc.WithBreakerOptions(
//		circuit.WithConsecutiveFailures(5),
//		circuit.WithOpenTimeout(30*time.Second)))
//	if err != nil {
//		return err
//	}
//	conn, err := grpc.NewClient("orders.internal:443",
//		grpc.WithTransportCredentials(creds),
//		grpc.WithUnaryInterceptor(cb.Unary()),
//		grpc.WithStreamInterceptor(cb.Stream()))
//
// A call that ends with a failure code (by default Unavailable,
// DeadlineExceeded, ResourceExhausted, Internal, Unknown and DataLoss; see
// WithFailureCodes) counts as a failure of its key; any other code, such as
// NotFound or InvalidArgument, is an answer from a working server and counts
// as a success. A call whose caller canceled its context is ignored, even if
// codes.Canceled is a failure code: the caller gave up, which says nothing of
// the server. A call that ran past the caller's deadline is a failure. The
// caller always gets the server's status unchanged.
//
// While a breaker is open its calls are not sent. The caller gets an error
// whose status.Code is codes.Unavailable, whose message names the breaker,
// for which errors.Is(err, circuit.ErrOpen) holds (circuit.ErrTooManyRequests
// while a half-open round's trials are taken, circuit.ErrBulkheadFull for a
// full bulkhead), and from which circuit.RetryAfter reads the time left.
//
// A failure whose trailer carries grpc-retry-pushback-ms, and that trips its
// breaker, keeps the breaker open at least that long. A stream counts once,
// when it ends (see Interceptors.Stream). Health checks
// (/grpc.health.v1.Health/) pass untouched, even while open (see WithSkip).
//
// Interceptors is a circuit.Source: Breakers gives every breaker's Metrics to
// the status page and the metrics adapters.
package circuitgrpc
