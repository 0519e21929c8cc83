// Package integration runs the platform for real: every app beside its own
// daprd, Sentry for mTLS, PostgreSQL and Redis. See internal/testenv.
package integration

import (
	"os"
	"testing"

	"github.com/qeetmart/qeetmart/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
