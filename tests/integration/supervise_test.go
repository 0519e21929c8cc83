package integration

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/testenv/testjwt"
)

// lockedBuffer is a log both the supervisor and the test use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// make run restarts an app or a sidecar that dies, with backoff, as
// Kubernetes restarts a crashed container: a stack on one machine comes
// back from kill -9 without a person.
func TestCrashedProcessesComeBack(t *testing.T) {
	signer := testjwt.NewSigner("test-key")
	env := gatewayEnv(t, signer)
	var log lockedBuffer
	env.Supervise(slog.New(slog.NewTextHandler(&log, nil)))
	token := bearer(signer.Access("probe", "probe"))
	serves := func(path string) func() bool {
		return func() bool {
			return do(t, env, call{method: http.MethodGet, path: path, header: token}).status == http.StatusOK
		}
	}

	require.NoError(t, env.KillApp("user"))
	assert.Eventually(t, serves("/api/v1/users/probe"), 60*time.Second, 250*time.Millisecond, "the user app is back")
	// Killed again at once (before it has run 10 s): the next restart
	// waits twice as long.
	require.NoError(t, env.KillApp("user"))
	assert.Eventually(t, serves("/api/v1/users/probe"), 60*time.Second, 250*time.Millisecond, "the user app is back again")
	require.NoError(t, env.KillSidecar("product"))
	assert.Eventually(t, serves("/api/v1/products/p1"), 60*time.Second, 250*time.Millisecond, "the product sidecar is back")
	// One that has stayed up 10 s was not crash-looping: it is back after
	// a second again (a 10-minute chaos run found the backoff climbing to
	// 30 s on apps killed every half minute).
	time.Sleep(11 * time.Second)
	require.NoError(t, env.KillApp("user"))
	assert.Eventually(t, serves("/api/v1/users/probe"), 60*time.Second, 250*time.Millisecond, "the user app is back a third time")
	logged := log.String()
	t.Log(logged)
	assert.Equal(t, 2, strings.Count(logged, `msg=restarted app=user after=1s`), "the backoff starts over")
	assert.Contains(t, logged, `msg="process exited; restarting" app=user`)
	assert.Contains(t, logged, `msg=restarted app=product after=1s`)
	assert.Contains(t, logged, `msg=restarted app=user after=2s`, "the second restart backs off")
}
