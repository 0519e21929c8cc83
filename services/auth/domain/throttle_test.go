package domain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestThrottleGrowsToItsCap(t *testing.T) {
	p := ThrottlePolicy{Threshold: 3, Base: time.Second, Max: 10 * time.Second, Window: time.Minute}
	now := time.Now()
	var th Throttle
	var waits []time.Duration
	for range 8 {
		th.Fail(now, p)
		waits = append(waits, th.Wait(now))
	}
	assert.Equal(t, []time.Duration{0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}, waits)
	assert.Zero(t, th.Wait(now.Add(10*time.Second)), "a lock ends")
	assert.Equal(t, 10*time.Second+time.Minute, th.Keep(now, p))
}

func TestThrottleHugeFailureCountStaysCapped(t *testing.T) {
	p := ThrottlePolicy{Threshold: 1, Base: time.Second, Max: time.Minute}
	th := Throttle{Failures: 1000}
	now := time.Now()
	th.Fail(now, p)
	assert.Equal(t, time.Minute, th.Wait(now))
}
