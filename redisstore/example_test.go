package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/redisstore"
)

// Every replica of a service makes the same breaker, under the same name,
// with a Store on the same Redis: a failure rate across the replicas opens
// them all. This example needs a Redis server, so it is not run.
func Example() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"redis:6379"}})
	defer rdb.Close() // after the breaker: deferred calls run last-in, first-out

	store, err := redisstore.New(rdb)
	if err != nil {
		log.Fatal(err) // an invalid option: New does not contact the server
	}
	b, err := circuit.New[string](
		circuit.WithName("payments"), // breakers of the same name share state
		circuit.WithStore(store, 500*time.Millisecond),
		circuit.WithStoreErrors(func(err error) { log.Printf("circuit store: %v", err) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close() // stops the background sync

	// The call never waits on Redis: the breaker syncs in the background.
	receipt, err := b.Execute(context.Background(), func(ctx context.Context) (string, error) {
		return "paid", nil // the call to the payments service
	})
	fmt.Println(receipt, err)
}

// New reports a bad option as an error naming it and its value.
func ExampleNew_invalidOption() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()

	_, err := redisstore.New(rdb, redisstore.WithTTL(-time.Second))
	fmt.Println(err)
	fmt.Println(errors.Is(err, circuit.ErrInvalidOption))
	// Output:
	// circuit: invalid option redisstore.WithTTL: ttl -1s is not positive
	// true
}

// Two services that call breakers by the same names keep their state apart
// with a prefix each.
func ExampleWithPrefix() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()

	store, err := redisstore.New(rdb, redisstore.WithPrefix("checkout:"), redisstore.WithTTL(10*time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range store.Keys("payments") {
		fmt.Println(k)
	}
	// Output:
	// checkout:{payments}:counts
	// checkout:{payments}:replicas
	// checkout:{payments}:open
	// checkout:{payments}:trip
}
