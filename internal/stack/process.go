package stack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// process is one child: a daprd, an app or sentry, logging to its own file.
type process struct {
	name string
	log  string // the file its output goes to
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, valid after done
}

// startProcess runs bin with args and env, appending output to logPath.
// Pdeathsig kills the child if the launcher itself dies, so a crashed
// `make run` or test binary leaves no orphan behind.
func startProcess(name, bin string, args, env []string, logPath string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitReport says how an exited process ended, with the last lines of its
// log: a run that fails where its logs are gone (CI) still says why.
func (p *process) exitReport() string {
	status := exitStatus(p)
	data, err := os.ReadFile(p.log)
	if err != nil {
		return fmt.Sprintf("%s exited: %s (its log: %v)", p.name, status, err)
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	lines = lines[max(0, len(lines)-5):]
	return fmt.Sprintf("%s exited: %s; the end of %s:\n%s", p.name, status, p.log, bytes.Join(lines, []byte("\n")))
}

// kill ends the process with SIGKILL and waits until it is gone.
func (p *process) kill() error {
	if p == nil || p.exited() {
		return nil
	}
	if err := p.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	<-p.done
	return nil
}

// stop asks the process to end (SIGTERM), and kills it after grace.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		// SIGQUIT first: a Go program writes every goroutine's stack to its
		// log on it, which says what it was waiting for.
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.done:
		case <-time.After(2 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		return fmt.Errorf("%s did not stop within %s; quit (its log holds its goroutines)", p.name, grace)
	}
	var exit *exec.ExitError
	if p.err != nil && !errors.As(p.err, &exit) {
		return p.err
	}
	return nil
}

// pause stops the process with SIGSTOP and returns once every one of its
// threads is stopped: the signal is asynchronous, and a thread finishing a
// system call could otherwise still answer a request sent right after it.
func (p *process) pause() error {
	if p == nil {
		return errors.New("pause: no such process")
	}
	if p.exited() {
		return fmt.Errorf("pause %s: not running", p.name)
	}
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return fmt.Errorf("pause %s: %w", p.name, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !allStopped(p.cmd.Process.Pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("pause %s: threads still running after SIGSTOP", p.name)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// resume continues a paused process.
func (p *process) resume() error {
	if p == nil || p.exited() {
		return nil
	}
	return p.cmd.Process.Signal(syscall.SIGCONT)
}

// allStopped reports whether every thread of pid is in state T (stopped),
// read from /proc/<pid>/task/*/stat.
func allStopped(pid int) bool {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		return false
	}
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		// The state follows the command name, which is in parentheses
		// and may itself hold spaces or parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 || i+2 >= len(b) || b[i+2] != 'T' {
			return false
		}
	}
	return true
}
