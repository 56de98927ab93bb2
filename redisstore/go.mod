module github.com/seed33933975/circuit/redisstore

go 1.25

replace github.com/seed33933975/circuit => ../

require (
	github.com/redis/go-redis/v9 v9.18.0
	github.com/seed33933975/circuit v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
