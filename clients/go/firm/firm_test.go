package firm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"google.golang.org/protobuf/proto"

	"github.com/stackelberg-market/clients/go/bestresponse"
	"github.com/stackelberg-market/clients/go/firm"
	pb "github.com/stackelberg-market/clients/go/gen/stackelbergv1"
)

const run = "gt-1"

// natsServer finds a nats-server binary: $STK_NATS_SERVER, the repo's .tools/bin, $PATH,
// /usr/sbin. The test is skipped only when there is none.
func natsServer(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("STK_NATS_SERVER"), filepath.Join("..", "..", "..", ".tools", "bin", "nats-server")} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nats-server"); err == nil {
		return "/usr/sbin/nats-server"
	}
	t.Skip("no nats-server binary (set STK_NATS_SERVER)")
	return ""
}

type identity struct{ pub, seedFile string }

func newIdentity(t *testing.T, dir, name string) identity {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	f := filepath.Join(dir, name+".nk")
	if err := os.WriteFile(f, append(seed, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return identity{pub, f}
}

func quoted(subjects ...string) string {
	q := make([]string, len(subjects))
	for i, s := range subjects {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// startServer starts nats-server on a free loopback port with the protocol's least-privilege
// permissions for the market and firm "follower" of tier 1 (docs/protocol.md), as `stackelberg
// auth` writes them. It returns the URL and both identities.
func startServer(t *testing.T) (url string, market, follower identity) {
	t.Helper()
	bin := natsServer(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	market, follower = newIdentity(t, dir, "market"), newIdentity(t, dir, "firm-follower")
	s := firm.Subjects{Run: run}
	conf := fmt.Sprintf(`listen: "127.0.0.1:%d"
authorization {
  users = [
    { nkey: %s, permissions: { publish: { allow: %s }, subscribe: { allow: %s } } }
    { nkey: %s, permissions: { publish: { allow: %s }, subscribe: { allow: %s } } }
  ]
}
`, port,
		market.pub, quoted("stk."+run+".move.*", s.Outcome(), s.Control(), "stk."+run+".reject.*", "_INBOX.stk."+run+".firm.*.>"),
		quoted("stk."+run+".submit.*", "stk."+run+".register.*", "_INBOX.stk."+run+".market.>"),
		follower.pub, quoted(s.Submit("follower"), s.Register("follower")),
		quoted(s.Move(1), s.Outcome(), s.Control(), s.Reject("follower"), s.FirmInbox("follower")+".>"))
	cf := filepath.Join(dir, "server.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", cf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url = fmt.Sprintf("nats://127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not listen on %d", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return url, market, follower
}

func runParams() *pb.RunParams {
	lin := func(c float64) *pb.Cost { return &pb.Cost{Model: &pb.Cost_Linear{Linear: &pb.LinearCost{C: c}}} }
	return &pb.RunParams{
		RunId: run, Batch: 2, RoundsPerEpisode: 1, TotalRounds: 10, Tiers: 2, QuantityMax: 100, DeadlineMs: 1000,
		Demand: &pb.Demand{Model: &pb.Demand_Linear{Linear: &pb.LinearDemand{A: 100, B: 1}}},
		Firms: []*pb.FirmInfo{
			{FirmId: "follower", Role: pb.Role_ROLE_FOLLOWER, Tier: 1, Cost: lin(10)},
			{FirmId: "leader", Role: pb.Role_ROLE_LEADER, Tier: 0, Cost: lin(10)},
		},
	}
}

// fakeMarket is the market's side of the protocol, enough to drive one firm.
type fakeMarket struct {
	t      *testing.T
	nc     *nats.Conn
	regs   chan *pb.Register
	subs   chan *pb.Submission
	refuse atomic.Pointer[pb.Reject] // when set, registrations are refused with it
}

func newFakeMarket(t *testing.T, url string, id identity) *fakeMarket {
	t.Helper()
	opt, err := nats.NkeyOptionFromSeed(id.seedFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, opt, nats.CustomInboxPrefix("_INBOX.stk."+run+".market"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return &fakeMarket{t: t, nc: nc, regs: make(chan *pb.Register, 16), subs: make(chan *pb.Submission, 16)}
}

// listen answers Registers (only in the registering firm's inbox, as the market does) and collects
// Submissions.
func (m *fakeMarket) listen() {
	s := firm.Subjects{Run: run}
	_, err := m.nc.Subscribe("stk."+run+".register.*", func(msg *nats.Msg) {
		id := strings.TrimPrefix(msg.Subject, "stk."+run+".register.")
		if !strings.HasPrefix(msg.Reply, s.FirmInbox(id)+".") {
			m.t.Errorf("Register with reply subject %q outside the firm's inbox", msg.Reply)
			return
		}
		r := &pb.Register{}
		if err := proto.Unmarshal(msg.Data, r); err != nil {
			m.t.Errorf("bad Register: %v", err)
			return
		}
		m.regs <- r
		reply := &pb.RegisterReply{Accepted: true, Params: runParams(), FirmIndex: 0}
		if rj := m.refuse.Load(); rj != nil {
			reply = &pb.RegisterReply{Reject: rj}
		}
		b, _ := proto.Marshal(reply)
		_ = msg.Respond(b)
	})
	if err != nil {
		m.t.Fatal(err)
	}
	_, err = m.nc.Subscribe("stk."+run+".submit.*", func(msg *nats.Msg) {
		sub := &pb.Submission{}
		if err := proto.Unmarshal(msg.Data, sub); err != nil {
			m.t.Errorf("bad Submission: %v", err)
			return
		}
		if msg.Subject != s.Submit(sub.GetFirmId()) {
			m.t.Errorf("Submission of %s on %s", sub.GetFirmId(), msg.Subject)
		}
		m.subs <- sub
	})
	if err != nil {
		m.t.Fatal(err)
	}
	if err := m.nc.Flush(); err != nil {
		m.t.Fatal(err)
	}
}

func (m *fakeMarket) publish(subject string, msg proto.Message) {
	m.t.Helper()
	b, err := proto.Marshal(msg)
	if err != nil {
		m.t.Fatal(err)
	}
	if err := m.nc.Publish(subject, b); err != nil {
		m.t.Fatal(err)
	}
}

func (m *fakeMarket) register(want bool) *pb.Register {
	m.t.Helper()
	select {
	case r := <-m.regs:
		if r.GetPreparing() != want {
			m.t.Fatalf("Register preparing = %v, want %v", r.GetPreparing(), want)
		}
		if r.GetFirmId() != "follower" || r.GetTier() != 1 || r.GetRole() != pb.Role_ROLE_FOLLOWER ||
			r.GetProtocolVersion() != pb.ProtocolVersion_PROTOCOL_VERSION_1 {
			m.t.Fatalf("unexpected Register %v", r)
		}
		return r
	case <-time.After(10 * time.Second):
		m.t.Fatalf("no Register (preparing = %v)", want)
	}
	return nil
}

func (m *fakeMarket) submission() *pb.Submission {
	m.t.Helper()
	select {
	case s := <-m.subs:
		return s
	case <-time.After(10 * time.Second):
		m.t.Fatal("no Submission")
	}
	return nil
}

// observer is the best-response policy plus a record of the outcomes and controls it saw.
type observer struct {
	*bestresponse.Policy
	mu       sync.Mutex
	outcomes []uint64
	controls []pb.ControlKind
}

func (o *observer) Outcome(out *pb.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, out.GetRound())
}

func (o *observer) Control(rc *pb.RunControl) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.controls = append(o.controls, rc.GetKind())
}

func connect(t *testing.T, url string, id identity) *firm.Client {
	t.Helper()
	return connectWith(t, url, id, nil)
}

func connectWith(t *testing.T, url string, id identity, mod func(*firm.Config)) *firm.Client {
	t.Helper()
	cfg := firm.Config{
		URL: url, Run: run, FirmID: "follower", Tier: 1, SeedFile: id.seedFile,
		Capabilities: []string{"policy:best-response"}, RequestTimeout: 300 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := firm.Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestFollowerAgainstFakeMarket(t *testing.T) {
	url, marketID, followerID := startServer(t)
	m := newFakeMarket(t, url, marketID)
	c := connect(t, url, followerID)
	s := c.Subjects()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The firm registers before the market is up: Register retries until it is answered.
	type result struct {
		p   *pb.RunParams
		err error
	}
	prep := make(chan result, 1)
	go func() {
		p, err := c.Register(ctx, true)
		prep <- result{p, err}
	}()
	time.Sleep(700 * time.Millisecond)
	m.listen()
	m.register(true)
	r := <-prep
	if r.err != nil {
		t.Fatal(r.err)
	}
	policy, err := bestresponse.New(r.p, "follower")
	if err != nil {
		t.Fatal(err)
	}
	h := &observer{Policy: policy}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	m.register(false)
	m.publish(s.Control(), &pb.RunControl{RunId: run, Kind: pb.ControlKind_START})

	// A move request of the firm's tier: it answers with the best response in each instance.
	m.publish(s.Move(1), &pb.MoveRequest{
		RunId: run, Round: 0, Tier: 1, Batch: 2, TierFirmIds: []string{"follower"},
		Committed: []*pb.TierQuantities{{Tier: 0, FirmIds: []string{"leader"}, Quantities: []float64{45, 30}}},
	})
	sub := m.submission()
	if sub.GetRound() != 0 || sub.GetRunId() != run || len(sub.GetQuantities()) != 2 ||
		sub.GetQuantities()[0] != 22.5 || sub.GetQuantities()[1] != 30 {
		t.Fatalf("submission %v, want round 0 quantities [22.5 30]", sub)
	}
	// A move request that does not name the firm is skipped; the next one is answered.
	m.publish(s.Move(1), &pb.MoveRequest{RunId: run, Round: 1, Tier: 1, Batch: 2, TierFirmIds: []string{"other"}})
	m.publish(s.Move(1), &pb.MoveRequest{
		RunId: run, Round: 2, Tier: 1, Batch: 2, TierFirmIds: []string{"follower"},
		Committed: []*pb.TierQuantities{{Tier: 0, FirmIds: []string{"leader"}, Quantities: []float64{0, 100}}},
	})
	sub = m.submission()
	if sub.GetRound() != 2 || sub.GetQuantities()[0] != 45 || sub.GetQuantities()[1] != 0 {
		t.Fatalf("submission %v, want round 2 quantities [45 0]", sub)
	}
	// Outcomes: a repeated round is delivered once.
	for _, round := range []uint64{0, 0, 2} {
		m.publish(s.Outcome(), &pb.Outcome{RunId: run, Round: round, Batch: 2, FirmIds: []string{"follower", "leader"},
			Prices: []float64{32.5, 40}, Quantities: []float64{22.5, 30, 45, 30}, Profits: []float64{1, 2, 3, 4}})
	}
	// Evicted (UNKNOWN_FIRM) and a restarted market (REGISTER): the firm registers again, ready.
	m.publish(s.Reject("follower"), &pb.Reject{Code: pb.RejectCode_UNKNOWN_FIRM, FirmId: "follower", Detail: "evicted"})
	m.register(false)
	time.Sleep(100 * time.Millisecond) // let that re-registration finish
	m.publish(s.Control(), &pb.RunControl{RunId: run, Kind: pb.ControlKind_REGISTER})
	m.register(false)
	m.publish(s.Control(), &pb.RunControl{RunId: run, Kind: pb.ControlKind_END_OF_RUN, Reason: "all rounds cleared"})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil at END_OF_RUN", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return at END_OF_RUN")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if fmt.Sprint(h.outcomes) != "[0 2]" {
		t.Errorf("outcomes seen %v, want [0 2]", h.outcomes)
	}
	if fmt.Sprint(h.controls) != fmt.Sprint([]pb.ControlKind{pb.ControlKind_START, pb.ControlKind_REGISTER, pb.ControlKind_END_OF_RUN}) {
		t.Errorf("controls seen %v", h.controls)
	}
	select {
	case extra := <-m.subs:
		t.Errorf("unexpected submission %v", extra)
	default:
	}
}

func TestRefusedRegistrationAndFailedRun(t *testing.T) {
	url, marketID, followerID := startServer(t)
	m := newFakeMarket(t, url, marketID)
	m.refuse.Store(&pb.Reject{Code: pb.RejectCode_NOT_IN_RUN, Detail: "wrong tier"})
	m.listen()
	c := connect(t, url, followerID)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.Register(ctx, true)
	var refused *firm.RefusedError
	if !errors.As(err, &refused) || refused.Code != pb.RejectCode_NOT_IN_RUN || refused.Detail != "wrong tier" {
		t.Fatalf("Register = %v, want a RefusedError NOT_IN_RUN", err)
	}
	m.register(true)

	m.refuse.Store(nil)
	if _, err := c.Register(ctx, true); err != nil {
		t.Fatal(err)
	}
	m.register(true)
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, firm.HandlerFunc(func(context.Context, *pb.MoveRequest) ([]float64, error) {
			return nil, errors.New("not called")
		}))
	}()
	m.register(false)
	m.publish(c.Subjects().Control(), &pb.RunControl{RunId: run, Kind: pb.ControlKind_END_OF_RUN, Failed: true, Reason: "record broken"})
	var failed *firm.RunFailedError
	if err := <-done; !errors.As(err, &failed) || failed.Reason != "record broken" {
		t.Fatalf("Run = %v, want a RunFailedError", err)
	}
}

func TestRegisterGivesUpWithContext(t *testing.T) {
	url, _, followerID := startServer(t)
	c := connect(t, url, followerID)
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	if _, err := c.Register(ctx, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Register without a market = %v, want context.DeadlineExceeded", err)
	}
}

func TestColumnNamesComeFromTheContract(t *testing.T) {
	cases := map[pb.ObservationColumn]string{
		pb.ObservationColumn_DEMAND_SHIFT:                   "demand_shift",
		pb.ObservationColumn_LAST_TOTAL_QUANTITY:            "last_total_quantity",
		pb.ObservationColumn(99):                            "column_99",
		pb.ObservationColumn_OBSERVATION_COLUMN_UNSPECIFIED: "column_0",
	}
	for c, want := range cases {
		if got := firm.ColumnName(c); got != want {
			t.Errorf("ColumnName(%d) = %q, want %q", c, got, want)
		}
	}
	params := &pb.RunParams{Batch: 2, ObservationColumns: []pb.ObservationColumn{pb.ObservationColumn_LAST_PRICE, pb.ObservationColumn_DEMAND_SHIFT}}
	req := &pb.MoveRequest{Observation: []float64{50, 1.5, 49, -2}}
	if got := firm.ObservationColumn(params, req, pb.ObservationColumn_DEMAND_SHIFT); len(got) != 2 || got[0] != 1.5 || got[1] != -2 {
		t.Errorf("DEMAND_SHIFT column = %v, want [1.5 -2]", got)
	}
	if got := firm.ObservationColumn(params, req, pb.ObservationColumn_STEP_FRACTION); got != nil {
		t.Errorf("a column the run does not carry = %v, want nil", got)
	}
}

// lockedBuffer is a bytes.Buffer safe for the logger's writes and the test's reads.
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

// TestDropsInvalidMessagesAndSkipsNonFiniteAnswers: move requests that decode but do not match the
// run never reach the handler (no submission, no crash); a handler answering NaN skips its round
// and Run carries on; outcomes that do not match the run are dropped; undecodable messages,
// dropped ones and rejects are logged once per kind within the interval.
func TestDropsInvalidMessagesAndSkipsNonFiniteAnswers(t *testing.T) {
	url, marketID, followerID := startServer(t)
	m := newFakeMarket(t, url, marketID)
	m.listen()
	var logs lockedBuffer
	c := connectWith(t, url, followerID, func(cfg *firm.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	s := c.Subjects()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Register(ctx, true); err != nil {
		t.Fatal(err)
	}
	m.register(true)
	var mu sync.Mutex
	var moved []uint64
	h := &observer{}
	handler := struct {
		firm.HandlerFunc
		*observer
	}{firm.HandlerFunc(func(_ context.Context, req *pb.MoveRequest) ([]float64, error) {
		mu.Lock()
		moved = append(moved, req.GetRound())
		mu.Unlock()
		if req.GetRound() == 20 {
			return []float64{math.NaN(), 1}, nil // a diverged policy
		}
		S, err := firm.CommittedTotal(req, 2)
		return S, err // echoes the leaders' total
	}), h}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, handler) }()
	m.register(false)

	move := func(round uint64, mod func(*pb.MoveRequest)) {
		req := &pb.MoveRequest{
			RunId: run, Round: round, Tier: 1, Batch: 2, TierFirmIds: []string{"follower"},
			Committed: []*pb.TierQuantities{{Tier: 0, FirmIds: []string{"leader"}, Quantities: []float64{45, 30}}},
		}
		if mod != nil {
			mod(req)
		}
		m.publish(s.Move(1), req)
	}
	invalid := []func(*pb.MoveRequest){
		func(r *pb.MoveRequest) { r.Batch = 3 },
		func(r *pb.MoveRequest) { r.Observation = []float64{1, 2} },
		func(r *pb.MoveRequest) { r.Committed[0].Quantities = []float64{45} },
		func(r *pb.MoveRequest) { r.Committed[0].Quantities = []float64{45, 30, 15} },
		func(r *pb.MoveRequest) { r.Committed[0].Quantities = []float64{45, math.NaN()} },
		func(r *pb.MoveRequest) { r.Committed[0].Quantities = []float64{math.Inf(1), 30} },
		func(r *pb.MoveRequest) { r.OwnLastQuantity = []float64{1} },
		func(r *pb.MoveRequest) { r.OwnMarginalCost = []float64{10, math.Inf(-1)} },
		func(r *pb.MoveRequest) { r.TierFirmIds = []string{"other"} },
	}
	for i, mod := range invalid {
		move(uint64(10+i), mod)
	}
	if err := m.nc.Publish(s.Move(1), []byte("\x0fnot protobuf")); err != nil {
		t.Fatal(err)
	}
	move(20, nil) // the handler answers NaN: no submission
	move(21, nil)
	sub := m.submission()
	if sub.GetRound() != 21 || fmt.Sprint(sub.GetQuantities()) != "[45 30]" {
		t.Fatalf("submission %v, want round 21 [45 30]", sub)
	}
	mu.Lock()
	if fmt.Sprint(moved) != "[20 21]" {
		t.Errorf("the handler saw rounds %v, want [20 21]", moved)
	}
	mu.Unlock()

	outcome := func(round uint64, mod func(*pb.Outcome)) {
		o := &pb.Outcome{RunId: run, Round: round, Batch: 2, FirmIds: []string{"follower", "leader"},
			Prices: []float64{32.5, 40}, Quantities: []float64{22.5, 30, 45, 30}, Profits: []float64{1, 2, 3, 4}, Absent: []bool{false, false}}
		if mod != nil {
			mod(o)
		}
		m.publish(s.Outcome(), o)
	}
	outcome(21, func(o *pb.Outcome) { o.Prices = o.Prices[:1] })
	outcome(21, func(o *pb.Outcome) { o.Profits[3] = math.NaN() })
	outcome(21, func(o *pb.Outcome) { o.FirmIds = []string{"leader", "x"} })
	outcome(21, nil)
	for range 5 {
		m.publish(s.Reject("follower"), &pb.Reject{Code: pb.RejectCode_LATE, Round: 3, FirmId: "follower", Detail: "late"})
	}
	m.publish(s.Control(), &pb.RunControl{RunId: run, Kind: pb.ControlKind_END_OF_RUN, Reason: "done"})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil: a NaN answer or an invalid message must not end it", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return at END_OF_RUN")
	}
	select {
	case extra := <-m.subs:
		t.Errorf("unexpected submission %v", extra)
	default:
	}
	h.mu.Lock()
	if fmt.Sprint(h.outcomes) != "[21]" {
		t.Errorf("outcomes seen %v, want [21] (the valid one)", h.outcomes)
	}
	h.mu.Unlock()
	out := logs.String()
	for msg, want := range map[string]int{
		`msg="move request dropped"`:                                      1, // 8 dropped (the one not naming it is not its move)
		`msg="outcome dropped"`:                                           1,
		`msg="market rejected a message"`:                                 1,
		`msg="undecodable MoveRequest dropped"`:                           1,
		`msg="round skipped: the handler answered a non-finite quantity"`: 1,
		`kind=invalid.MoveRequest suppressed=7`:                           1, // the rest, counted at the end of the run
		`kind=invalid.Outcome suppressed=2`:                               1,
		`kind=reject.LATE suppressed=4`:                                   1,
	} {
		if n := strings.Count(out, msg); n != want {
			t.Errorf("%d lines with %s, want %d; log:\n%s", n, msg, want, out)
		}
	}
}
