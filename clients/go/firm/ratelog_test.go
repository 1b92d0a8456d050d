package firm

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRateLogOneLinePerKindPerIntervalWithCounts(t *testing.T) {
	var buf bytes.Buffer
	r := newRateLog(slog.New(slog.NewJSONHandler(&buf, nil)), 5*time.Second)
	r.maxKeys = 3
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	logged := []bool{
		r.Warn("a", "event", "n", 1),
		r.Warn("a", "event", "n", 2),
		r.Warn("a", "event", "n", 3),
		r.Warn("b", "other"), // another kind has its own budget
	}
	now = now.Add(4900 * time.Millisecond)
	logged = append(logged, r.Warn("a", "event", "n", 4))
	now = now.Add(200 * time.Millisecond)
	logged = append(logged, r.Warn("a", "event", "n", 5), r.Warn("a", "event", "n", 6))
	// Keys beyond maxKeys share one entry: ids chosen by a sender cannot grow the table.
	logged = append(logged, r.Warn("c", "c"), r.Warn("d", "d"), r.Warn("e", "e"))
	r.Flush()
	r.Flush() // nothing left
	want := []bool{true, false, false, true, false, true, false, true, true, false}
	for i := range want {
		if logged[i] != want[i] {
			t.Fatalf("logged = %v, want %v", logged, want)
		}
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if m["level"] != "WARN" {
			t.Errorf("level %v, want WARN", m["level"])
		}
		delete(m, "time")
		delete(m, "level")
		lines = append(lines, m)
	}
	got, _ := json.Marshal(lines)
	const wantJSON = `[{"msg":"event","n":1},{"msg":"other"},{"msg":"event","n":5,"since":5100000000,"suppressed":3},{"msg":"c"},{"msg":"d"},` +
		`{"kind":"(other kinds)","msg":"not logged one by one","suppressed":1},{"kind":"a","msg":"not logged one by one","suppressed":1}]`
	if string(got) != wantJSON {
		t.Errorf("lines\n %s\nwant\n %s", got, wantJSON)
	}
}
