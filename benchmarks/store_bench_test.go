package benchmarks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/seed33933975/circuit"
	"github.com/seed33933975/circuit/redisstore"
	"github.com/seed33933975/circuit/redisstore/redistest"
	"github.com/sony/gobreaker/v2"
)

// BenchmarkStore: ClosedSuccess with the breaker's state shared across
// replicas through Redis, on a redis-server of its own (package redistest:
// skipped where redis-server is missing, except under CI=true).
//
//   - circuit: no store, the baseline of the ratio column (the same breaker as
//     ClosedSuccess/circuit);
//   - circuit-redis: WithStore(redisstore.New(client), 0): the calls stay
//     local, a background goroutine syncs with Redis every 500ms;
//   - gobreaker-redis: sony/gobreaker v2's DistributedCircuitBreaker on the
//     same Redis, with our defaults' settings (gobreakerSettings): every call
//     reads the shared state, takes and releases a lock and writes the state
//     back, four round trips to Redis.
func BenchmarkStore(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	b.Run(libCircuit, func(b *testing.B) {
		benchCircuit(b, circuit.MustNew[int](), okFn, nil)
	})
	b.Run(libCircuit+"-redis", func(b *testing.B) {
		store, err := redisstore.New(rdb)
		if err != nil {
			b.Fatal(err)
		}
		br := circuit.MustNew[int](circuit.WithName("store-bench"), circuit.WithStore(store, 0))
		defer br.Close()
		benchCircuit(b, br, okFn, nil)
		if n := br.Metrics().StoreErrors; n > 0 {
			b.Fatalf("%d syncs with Redis failed", n)
		}
	})
	b.Run(libGobreaker+"-redis", func(b *testing.B) {
		st := gobreakerSettings(defConsecutive, defMinCalls)
		st.Name = "store-bench"
		cb, err := gobreaker.NewDistributedCircuitBreaker[int](&gobreakerRedis{rdb: rdb}, st)
		if err != nil {
			b.Fatal(err)
		}
		call := func() error { _, err := cb.Execute(okGet); return err }
		check(b, call, nil)
		start(b)
		for range b.N {
			_, _ = cb.Execute(okGet)
		}
		b.StopTimer()
		check(b, call, nil)
	})
}

// gobreakerRedis is gobreaker v2's SharedDataStore on Redis, as a user of
// DistributedCircuitBreaker would write it with go-redis and no other
// dependency: Lock is SET key token NX PX 5s (gobreaker's own lock timeout)
// with a random token, and fails at once when the key is taken (gobreaker
// retries every 500ms); Unlock deletes the key only while it holds that token
// (the single-instance lock of the Redis documentation, as redsync does it);
// GetData and SetData are GET and SET, a missing key being no data.
type gobreakerRedis struct {
	rdb    *redis.Client
	mu     sync.Mutex
	tokens map[string]string
}

var (
	errLocked   = errors.New("gobreakerRedis: locked by another")
	errNotOwner = errors.New("gobreakerRedis: lock not held")
	unlock      = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

const gobreakerLockTTL = 5 * time.Second

func (s *gobreakerRedis) Lock(name string) error {
	var t [16]byte
	_, _ = rand.Read(t[:])
	token := hex.EncodeToString(t[:])
	ok, err := s.rdb.SetNX(context.Background(), name, token, gobreakerLockTTL).Result()
	if err != nil {
		return err
	}
	if !ok {
		return errLocked
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]string{}
	}
	s.tokens[name] = token
	return nil
}

func (s *gobreakerRedis) Unlock(name string) error {
	s.mu.Lock()
	token, ok := s.tokens[name]
	delete(s.tokens, name)
	s.mu.Unlock()
	if !ok {
		return errNotOwner
	}
	n, err := unlock.Run(context.Background(), s.rdb, []string{name}, token).Int()
	if err != nil {
		return err
	}
	if n == 0 {
		return errNotOwner
	}
	return nil
}

func (s *gobreakerRedis) GetData(name string) ([]byte, error) {
	data, err := s.rdb.Get(context.Background(), name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return data, err
}

func (s *gobreakerRedis) SetData(name string, data []byte) error {
	return s.rdb.Set(context.Background(), name, data, 0).Err()
}
