package app

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCachedServesUntilForgotten(t *testing.T) {
	c := newCached[string]("test", CacheOptions{TTL: time.Hour, Size: 10})
	var loads atomic.Int32
	value := "v1"
	load := func() (string, bool, error) { loads.Add(1); return value, true, nil }
	for range 3 {
		v, found, err := c.get("k", load)
		require.NoError(t, err)
		assert.True(t, found)
		assert.Equal(t, "v1", v)
	}
	assert.EqualValues(t, 1, loads.Load(), "one load, then hits")

	value = "v2"
	c.forget("k")
	v, _, _ := c.get("k", load)
	assert.Equal(t, "v2", v, "a forgotten key is read again")
}

func TestCachedExpires(t *testing.T) {
	c := newCached[string]("test", CacheOptions{TTL: 50 * time.Millisecond, Size: 10})
	value := "v1"
	load := func() (string, bool, error) { return value, true, nil }
	c.get("k", load)
	value = "v2"
	assert.Eventually(t, func() bool { v, _, _ := c.get("k", load); return v == "v2" }, 5*time.Second, 10*time.Millisecond)
}

// A load that began before a write must not store what it read after the
// write forgot the key.
func TestCachedLoadRacingAForget(t *testing.T) {
	c := newCached[string]("test", CacheOptions{TTL: time.Hour, Size: 10})
	inLoad, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.get("k", func() (string, bool, error) { close(inLoad); <-release; return "old", true, nil })
	}()
	<-inLoad
	c.forget("k") // the write commits while the old value is on its way
	close(release)
	wg.Wait()
	v, _, _ := c.get("k", func() (string, bool, error) { return "new", true, nil })
	assert.Equal(t, "new", v)
}

func TestCacheOff(t *testing.T) {
	c := newCached[string]("test", CacheOptions{})
	n := 0
	for range 2 {
		c.get("k", func() (string, bool, error) { n++; return "v", true, nil })
	}
	assert.Equal(t, 2, n)
}
