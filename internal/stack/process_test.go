package stack

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A process that dies at start must say why where its log is gone, as in CI.
func TestAnExitedProcessReportsTheEndOfItsLog(t *testing.T) {
	log := filepath.Join(t.TempDir(), "p.log")
	p, err := startProcess("p", "/bin/sh", []string{"-c", "echo one; echo two; echo listen: address already in use; exit 3"}, nil, log)
	require.NoError(t, err)
	<-p.done

	report := p.exitReport()
	assert.Contains(t, report, "p exited: exit status 3")
	assert.Contains(t, report, "listen: address already in use")
	assert.Contains(t, report, log)
}
