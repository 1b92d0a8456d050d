package firm

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// otherKeys is the key events share once maxKeys keys are in use (keys may come off the wire).
const otherKeys = "(other kinds)"

// rateLog logs repeats of one kind of event (a key such as "reject.LATE" or
// "undecodable.MoveRequest") at a bounded rate, as docs/protocol.md asks of firms: the first at
// once, later ones at most once every interval, each logged line carrying how many were
// suppressed since the previous one. What comes off the wire is chosen by its sender, so a flood
// of junk must not become a flood of log lines.
type rateLog struct {
	log      *slog.Logger
	interval time.Duration
	maxKeys  int
	now      func() time.Time

	mu   sync.Mutex
	last map[string]*rateEntry
}

type rateEntry struct {
	at         time.Time
	suppressed int
}

func newRateLog(log *slog.Logger, interval time.Duration) *rateLog {
	return &rateLog{log: log, interval: interval, maxKeys: 64, now: time.Now, last: map[string]*rateEntry{}}
}

// Warn logs msg with args at Warn level unless a line of key went out less than interval ago, and
// reports whether it did.
func (r *rateLog) Warn(key, msg string, args ...any) bool {
	r.mu.Lock()
	if _, ok := r.last[key]; !ok && len(r.last) >= r.maxKeys {
		key = otherKeys
	}
	t := r.now()
	e := r.last[key]
	if e != nil && t.Sub(e.at) < r.interval {
		e.suppressed++
		r.mu.Unlock()
		return false
	}
	if e != nil && e.suppressed > 0 {
		args = append(args, "suppressed", e.suppressed, "since", t.Sub(e.at).Round(time.Millisecond))
	}
	r.last[key] = &rateEntry{at: t}
	r.mu.Unlock()
	r.log.Warn(msg, args...)
	return true
}

// Flush logs, per key, how many events were suppressed since its last line (at the end of a run).
func (r *rateLog) Flush() {
	r.mu.Lock()
	type pending struct {
		key string
		n   int
	}
	var out []pending
	for k, e := range r.last {
		if e.suppressed > 0 {
			out = append(out, pending{k, e.suppressed})
			e.suppressed = 0
		}
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b pending) int { return strings.Compare(a.key, b.key) })
	for _, p := range out {
		r.log.Warn("not logged one by one", "kind", p.key, "suppressed", p.n)
	}
}
