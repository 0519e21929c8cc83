package app

import (
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// CacheOptions size the read cache. Every entry lives at most TTL, which
// is the bound on how stale a read can be after a write on another
// replica; a replica's own writes drop what they change at once. A TTL of
// zero turns caching off.
type CacheOptions struct {
	TTL  time.Duration
	Size int // entries per kind (products, categories, slugs)
	// Looked, when set, gives each kind's cache what it tells of every
	// read it answers (hit) or passes on: a metric, resolved once per kind
	// so that a read costs a counter's add.
	Looked func(kind string) func(hit bool)
}

// cached keeps recent reads of one kind, absences included (an id that
// names nothing is as cheap to ask again). Concurrent misses of one key
// share one load. Expiry is checked on read: golang-lru's own expirable
// cache crashes when a key is added again (hashicorp/golang-lru#181, open
// in v2.0.7), which is exactly what a cache refilled after expiry does.
//
// A load that began before a write must not put the old value back after
// the write dropped it: every forget moves the epoch on, and a load stores
// its result, and shares it, only within the epoch it began in.
type cached[V any] struct {
	entries *lru.Cache[string, entry[V]]
	ttl     time.Duration
	flight  singleflight.Group
	looked  func(hit bool)

	mu    sync.Mutex // orders a load's store against a forget
	epoch uint64
}

type entry[V any] struct {
	value   V
	found   bool
	expires time.Time
}

func newCached[V any](kind string, o CacheOptions) *cached[V] {
	looked := func(bool) {}
	if o.Looked != nil {
		looked = o.Looked(kind)
	}
	if o.TTL <= 0 {
		return &cached[V]{looked: looked}
	}
	entries, err := lru.New[string, entry[V]](max(o.Size, 1))
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &cached[V]{entries: entries, ttl: o.TTL, looked: looked}
}

// get is key's value: remembered, or from load. Values are shared between
// readers; never modify one.
func (c *cached[V]) get(key string, load func() (V, bool, error)) (V, bool, error) {
	if c.entries == nil {
		c.looked(false)
		return load()
	}
	if e, ok := c.entries.Get(key); ok && time.Now().Before(e.expires) {
		c.looked(true)
		return e.value, e.found, nil
	}
	c.looked(false)
	c.mu.Lock()
	epoch := c.epoch
	c.mu.Unlock()
	v, err, _ := c.flight.Do(strconv.FormatUint(epoch, 10)+"/"+key, func() (any, error) {
		value, found, err := load()
		if err != nil {
			return nil, err
		}
		e := entry[V]{value: value, found: found, expires: time.Now().Add(c.ttl)}
		c.mu.Lock()
		if c.epoch == epoch {
			c.entries.Add(key, e)
		}
		c.mu.Unlock()
		return e, nil
	})
	if err != nil {
		var zero V
		return zero, false, err
	}
	e := v.(entry[V])
	return e.value, e.found, nil
}

// forget drops keys after a write to them.
func (c *cached[V]) forget(keys ...string) {
	if c.entries == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, k := range keys {
		c.entries.Remove(k)
	}
}
