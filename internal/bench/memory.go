package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// procStatus returns a memory field of /proc/self/status ("VmRSS",
// "VmHWM") in bytes, or -1 where there is no such file (not Linux).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := bytes.Cut(sc.Bytes(), []byte{':'})
		if !ok || string(name) != field {
			continue
		}
		f := bytes.Fields(rest) // "123456 kB"
		if len(f) == 0 {
			return -1
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return -1
		}
		return kb << 10
	}
	return -1
}

// rssWatch samples the resident set size while a scenario runs. The
// kernel's high-water mark (VmHWM) cannot be reset between scenarios, so
// each scenario's peak is the largest VmRSS seen every 20 ms.
type rssWatch struct {
	max  atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func watchRSS() *rssWatch {
	w := &rssWatch{stop: make(chan struct{}), done: make(chan struct{})}
	w.max.Store(procStatus("VmRSS"))
	go func() {
		defer close(w.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				if v := procStatus("VmRSS"); v > w.max.Load() {
					w.max.Store(v)
				}
			}
		}
	}()
	return w
}

// end stops sampling and returns the peak in bytes (-1 if unknown).
func (w *rssWatch) end() int64 {
	close(w.stop)
	<-w.done
	if v := procStatus("VmRSS"); v > w.max.Load() {
		w.max.Store(v)
	}
	return w.max.Load()
}
