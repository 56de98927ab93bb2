package circuitgrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/circuitgrpc"
)

// downServer starts a gRPC server on 127.0.0.1 that answers every method
// with Unavailable, and returns its address and a func that stops it.
func downServer() (string, func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
		return status.Error(codes.Unavailable, "down for maintenance")
	}))
	go func() { _ = srv.Serve(lis) }()
	return lis.Addr().String(), srv.Stop
}

func Example() {
	addr, stop := downServer() // a dependency that is down
	defer stop()

	cb, err := circuitgrpc.New(circuitgrpc.WithBreakerOptions(
		circuit.WithConsecutiveFailures(3),
		circuit.WithOpenTimeout(30*time.Second),
	))
	if err != nil {
		panic(err)
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(cb.Unary()),
		grpc.WithStreamInterceptor(cb.Stream()),
	)
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	for range 5 {
		err := conn.Invoke(context.Background(), "/shop.Orders/Get", &emptypb.Empty{}, &emptypb.Empty{})
		if errors.Is(err, circuit.ErrOpen) {
			wait, _ := circuit.RetryAfter(err)
			fmt.Printf("%v, not sent, retry in about %v\n", status.Code(err), wait.Round(time.Second))
			continue
		}
		fmt.Println(status.Code(err), status.Convert(err).Message())
	}
	cb.Breakers(func(_ string, m circuit.Metrics) bool {
		fmt.Printf("%v: %d failures, %d rejected\n", m.State, m.Failures, m.Rejected)
		return true
	})
	// Output:
	// Unavailable down for maintenance
	// Unavailable down for maintenance
	// Unavailable down for maintenance
	// Unavailable, not sent, retry in about 30s
	// Unavailable, not sent, retry in about 30s
	// open: 3 failures, 2 rejected
}

func ExampleByMethod() {
	addr, stop := downServer()
	defer stop()

	cb, err := circuitgrpc.New(
		// One breaker per method: Orders/Get failing never rejects Orders/List.
		circuitgrpc.WithKey(circuitgrpc.ByMethod),
		// Only these codes are failures; the others are answers.
		circuitgrpc.WithFailureCodes(codes.Unavailable, codes.DeadlineExceeded),
		circuitgrpc.WithBreakerOptions(circuit.WithName("orders")),
	)
	if err != nil {
		panic(err)
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(cb.Unary()),
	)
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	for _, method := range []string{"/shop.Orders/Get", "/shop.Orders/List"} {
		_ = conn.Invoke(context.Background(), method, &emptypb.Empty{}, &emptypb.Empty{})
	}
	var names []string
	cb.Breakers(func(name string, _ circuit.Metrics) bool {
		names = append(names, name)
		return true
	})
	sort.Strings(names)
	fmt.Println(names)
	// Output: [orders//shop.Orders/Get orders//shop.Orders/List]
}
