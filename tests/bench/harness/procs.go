package main

// Child processes: start with logs in files, wait for a stdout line, signal, reap; and the
// /proc readings the footprint figures come from.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat: 100 on every Linux ABI Go
// supports (it is not the kernel's CONFIG_HZ).
const clockTicks = 100

type Proc struct {
	Name    string
	cmd     *exec.Cmd
	Started time.Time // just before exec

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new stdout line and at exit

	done     chan struct{}
	exitCode int // valid once done is closed; -1 = killed by a signal
}

// startProc runs path with args in its own process group; stdout is read line by line (and
// copied to <logDir>/<name>.out), stderr goes to <logDir>/<name>.err.
func startProc(name, logDir, path string, args ...string) (*Proc, error) {
	p := &Proc{Name: name, changed: make(chan struct{}), done: make(chan struct{})}
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
	if err != nil {
		outLog.Close()
		errLog.Close()
		return nil, err
	}
	p.cmd = cmd
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		outLog.Close()
		errLog.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() {
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				outLog.WriteString(line)
				p.mu.Lock()
				p.lines = append(p.lines, strings.TrimRight(line, "\n"))
				close(p.changed)
				p.changed = make(chan struct{})
				p.mu.Unlock()
			}
			if err != nil {
				if err != io.EOF {
					fmt.Fprintf(errLog, "bench: reading stdout: %v\n", err)
				}
				break
			}
		}
		err := cmd.Wait()
		outLog.Close()
		errLog.Close()
		p.mu.Lock()
		p.exitCode = cmd.ProcessState.ExitCode()
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
		_ = err
		close(p.done)
	}()
	return p, nil
}

func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// WaitLine waits for a stdout line starting with prefix and returns it.
func (p *Proc) WaitLine(prefix string, timeout time.Duration) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for _, l := range p.lines {
			if strings.HasPrefix(l, prefix) {
				p.mu.Unlock()
				return l, nil
			}
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-p.done:
			// One last look: the line may have come with the exit.
			p.mu.Lock()
			for _, l := range p.lines {
				if strings.HasPrefix(l, prefix) {
					p.mu.Unlock()
					return l, nil
				}
			}
			p.mu.Unlock()
			return "", fmt.Errorf("%s exited (code %d) before printing %q", p.Name, p.exitCode, prefix)
		case <-ch:
		case <-deadline.C:
			return "", fmt.Errorf("%s: no %q on stdout within %v", p.Name, prefix, timeout)
		}
	}
}

func (p *Proc) Signal(sig syscall.Signal) error { return syscall.Kill(p.Pid(), sig) }

// Wait waits for the exit; ok=false on timeout.
func (p *Proc) Wait(timeout time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
		return p.exitCode, true
	case <-time.After(timeout):
		return 0, false
	}
}

func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill SIGKILLs the whole process group and reaps the leader (bounded).
func (p *Proc) Kill() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.killGroup()
	p.Wait(10 * time.Second)
}

// killGroup SIGKILLs what is left of the process group the leader created. Once the leader is
// reaped, its id stays a process group id only while members remain, so the group is
// signalled only if /proc still shows one (and then it can only be ours).
func (p *Proc) killGroup() {
	pgid := p.Pid()
	if p.Exited() && !groupHasMembers(pgid) {
		return
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func groupHasMembers(pgid int) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.pgrp == pgid {
			return true
		}
	}
	return false
}

// Stop sends SIGTERM, waits up to timeout, then kills.
func (p *Proc) Stop(timeout time.Duration) {
	if p == nil {
		return
	}
	if p.Exited() {
		p.killGroup()
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	if _, ok := p.Wait(timeout); !ok {
		p.Kill()
	}
	// Whatever is left in the group (e.g. a script's children) goes too.
	p.killGroup()
}

// --- /proc ---------------------------------------------------------------------------------

type procStat struct {
	ppid, pgrp                   int
	utime, stime, cutime, cstime int64
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	n := func(k int) int64 { v, _ := strconv.ParseInt(f[k], 10, 64); return v }
	return procStat{ppid: int(n(1)), pgrp: int(n(2)), utime: n(11), stime: n(12), cutime: n(13), cstime: n(14)}, nil
}

// treePids: root and every descendant alive now.
func treePids(root int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			children[st.ppid] = append(children[st.ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// cpuSeconds: user+system CPU of the tree rooted at root, including children the root has
// reaped (cutime/cstime of the root).
func cpuSeconds(root int, tree bool) float64 {
	pids := []int{root}
	if tree {
		pids = treePids(root)
	}
	var ticks int64
	for i, pid := range pids {
		st, err := readStat(pid)
		if err != nil {
			continue
		}
		ticks += st.utime + st.stime
		if i == 0 {
			ticks += st.cutime + st.cstime
		}
	}
	return float64(ticks) / clockTicks
}

// rssMiB: the sum of VmRSS over the tree (shared pages of several processes count once each),
// and of RssAnon (the memory the processes allocated themselves, without mapped files such as
// shared libraries).
func rssMiB(root int, tree bool) (rss, anon float64) {
	pids := []int{root}
	if tree {
		pids = treePids(root)
	}
	var rssKB, anonKB int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			v, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "VmRSS:":
				rssKB += v
			case "RssAnon:":
				anonKB += v
			}
		}
	}
	return float64(rssKB) / 1024, float64(anonKB) / 1024
}
