package main

// Child processes whose stdout lines are timestamped the moment this process reads them: the
// arrival time of a printed set is the figure's end point, for `watch` and its peer alike.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type Line struct {
	T    time.Time
	Text string
}

type Child struct {
	Name  string
	cmd   *exec.Cmd
	lines chan Line
	done  chan struct{}
}

// startChild runs path in its own process group; stdout lines go to a channel (and to
// <logDir>/<name>.out), stderr to <logDir>/<name>.err.
func startChild(name, logDir, path string, args ...string) (*Child, error) {
	outLog, err := os.Create(filepath.Join(logDir, name+".out"))
	if err != nil {
		return nil, err
	}
	errLog, err := os.Create(filepath.Join(logDir, name+".err"))
	if err != nil {
		outLog.Close()
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stderr = errLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		outLog.Close()
		errLog.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	c := &Child{Name: name, cmd: cmd, lines: make(chan Line, 4096), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			now := time.Now()
			fmt.Fprintf(outLog, "%s %s\n", now.Format("15:04:05.000000"), sc.Text())
			select {
			case c.lines <- Line{now, sc.Text()}:
			default: // nobody reads that many lines: the log keeps them
			}
		}
		_ = cmd.Wait()
		outLog.Close()
		errLog.Close()
		close(c.done)
	}()
	return c, nil
}

// Next returns the first line for which match is true, skipping the others, within timeout.
func (c *Child) Next(match func(string) bool, timeout time.Duration) (Line, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case l := <-c.lines:
			if match(l.Text) {
				return l, nil
			}
		case <-c.done:
			return Line{}, fmt.Errorf("%s exited (see its .err log)", c.Name)
		case <-deadline.C:
			return Line{}, fmt.Errorf("%s: no expected line within %v", c.Name, timeout)
		}
	}
}

// Drain returns the lines already read and not yet consumed.
func (c *Child) Drain() []string {
	var out []string
	for {
		select {
		case l := <-c.lines:
			out = append(out, l.Text)
		default:
			return out
		}
	}
}

// Stop sends SIGTERM to the group, waits up to 5 s, then SIGKILLs it.
func (c *Child) Stop() {
	if c == nil {
		return
	}
	pgid := c.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// Exited reports whether the process has ended.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// startsWith is a line matcher.
func startsWith(prefix string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, prefix) }
}
