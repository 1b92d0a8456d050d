// Package firm is a Go client for a firm of a stackelberg.v1 run (docs/protocol.md): it connects
// to the run's NATS server with the firm's nkey and inbox prefix, registers (first preparing, to
// fetch the run's parameters, then ready), answers every MoveRequest of its tier with one
// Submission, and follows the market's control messages until the end of the run.
package firm

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	pb "github.com/stackelberg-market/clients/go/gen/stackelbergv1"
)

// Config says which firm of which run to connect as, and how.
type Config struct {
	// URL of the run's NATS server, e.g. nats://host:4222 or tls://host:4222.
	URL string
	// Run id (1-64 characters of A-Z a-z 0-9 _ -).
	Run string
	// FirmID is the firm's id in the run's configuration.
	FirmID string
	// Role must be the one the run gives the firm; ROLE_UNSPECIFIED means ROLE_LEADER in tier 0
	// and ROLE_FOLLOWER in any later tier.
	Role pb.Role
	// Tier the run gives the firm (0 for leaders).
	Tier uint32
	// SeedFile is the firm's credentials: the nkey seed file `stackelberg auth` writes
	// (firm-<id>.nk), or a decentralized-auth .creds file (user JWT + seed). Empty connects
	// without credentials (only for a server without auth, e.g. `--insecure` runs).
	SeedFile string
	// TLS: a CA file to verify the server with, and a client certificate and key for servers that
	// verify clients. A tls:// URL without TLSCA uses the system's roots.
	TLSCA, TLSCert, TLSKey string
	// Capabilities sent on registration (e.g. "policy:best-response").
	Capabilities []string
	// RequestTimeout bounds one Register request (default 2 s); Register retries until its context ends.
	RequestTimeout time.Duration
	// Logger for what the client does (default slog.Default()). Rejects and dropped messages are
	// logged at most once every LogInterval per kind, with the number suppressed in between.
	Logger *slog.Logger
	// LogInterval is the shortest time between two lines of one kind of wire event (default 5 s).
	LogInterval time.Duration
	// NATSOptions are appended to the client's own connection options.
	NATSOptions []nats.Option
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// RefusedError is the market's refusal of a registration (RegisterReply.accepted = false).
type RefusedError struct {
	Code   pb.RejectCode
	Detail string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("market refused registration: %s: %s", e.Code, e.Detail)
}

// RunFailedError is returned by Run when the market ends the run with END_OF_RUN failed = true.
type RunFailedError struct{ Reason string }

func (e *RunFailedError) Error() string { return "run failed: " + e.Reason }

// Client is a connected firm. Its methods are safe for concurrent use; Run is called once.
type Client struct {
	cfg  Config
	subj Subjects
	nc   *nats.Conn
	log  *slog.Logger
	// wire logs rejects and dropped messages at a bounded rate.
	wire *rateLog

	closed chan struct{}

	mu         sync.Mutex
	params     *pb.RunParams
	firmIndex  uint32
	startRound uint64
}

// Connect validates cfg and connects to the run's NATS server as the firm.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if !idPattern.MatchString(cfg.Run) {
		return nil, fmt.Errorf("run id %q: want 1-64 characters of A-Z a-z 0-9 _ -", cfg.Run)
	}
	if !idPattern.MatchString(cfg.FirmID) {
		return nil, fmt.Errorf("firm id %q: want 1-64 characters of A-Z a-z 0-9 _ -", cfg.FirmID)
	}
	if cfg.Role == pb.Role_ROLE_UNSPECIFIED {
		cfg.Role = pb.Role_ROLE_FOLLOWER
		if cfg.Tier == 0 {
			cfg.Role = pb.Role_ROLE_LEADER
		}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = 5 * time.Second
	}
	c := &Client{
		cfg:    cfg,
		subj:   Subjects{Run: cfg.Run},
		log:    cfg.Logger.With("run", cfg.Run, "firm", cfg.FirmID),
		closed: make(chan struct{}),
	}
	c.wire = newRateLog(c.log, cfg.LogInterval)
	opts := []nats.Option{
		nats.Name("stackelberg-go-firm-" + cfg.FirmID),
		// Required: replies to this firm's requests must arrive where it may subscribe, and the
		// market answers a Register only in the firm's own inbox.
		nats.CustomInboxPrefix(c.subj.FirmInbox(cfg.FirmID)),
		nats.MaxReconnects(-1),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subject := ""
			if s != nil {
				subject = s.Subject
			}
			c.wire.Warn("nats."+subject, "nats error", "subject", subject, "err", err)
		}),
	}
	if cfg.SeedFile != "" {
		o, err := credentialsOption(cfg.SeedFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, o)
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		if cfg.TLSCert == "" || cfg.TLSKey == "" {
			return nil, errors.New("a client certificate needs both TLSCert and TLSKey")
		}
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	if strings.HasPrefix(cfg.URL, "tls://") && cfg.TLSCA == "" {
		opts = append(opts, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	opts = append(opts, cfg.NATSOptions...)
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(cfg.URL, opts...)
		done <- result{nc, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("connect to %s: %w", cfg.URL, r.err)
		}
		c.nc = r.nc
		return c, nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// credentialsOption reads a seed file (.nk) or a .creds file (user JWT + seed).
func credentialsOption(file string) (nats.Option, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if strings.Contains(string(b), "BEGIN NATS USER JWT") {
		return nats.UserCredentials(file), nil
	}
	o, err := nats.NkeyOptionFromSeed(file)
	if err != nil {
		return nil, fmt.Errorf("credentials %s: %w", file, err)
	}
	return o, nil
}

// Conn is the underlying NATS connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// Subjects of the client's run.
func (c *Client) Subjects() Subjects { return c.subj }

// Params is the RunParams of the last accepted registration (nil before one).
func (c *Client) Params() *pb.RunParams {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.params
}

// FirmIndex is the firm's row in firm-major arrays of RunParams.firms and Outcome.
func (c *Client) FirmIndex() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firmIndex
}

// CurrentRound is the round the market was in at the last accepted registration.
func (c *Client) CurrentRound() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.startRound
}

// Close drains and closes the connection.
func (c *Client) Close() error {
	if c.nc == nil || c.nc.IsClosed() {
		return nil
	}
	return c.nc.Drain()
}

// Register registers the firm, retrying (the market may not be up yet) until the market answers or
// ctx ends. preparing = true only fetches the run's parameters; register again with false when
// ready to move (Run does that itself). A refusal returns a *RefusedError.
func (c *Client) Register(ctx context.Context, preparing bool) (*pb.RunParams, error) {
	req, err := proto.Marshal(&pb.Register{
		ProtocolVersion: pb.ProtocolVersion_PROTOCOL_VERSION_1,
		FirmId:          c.cfg.FirmID,
		Role:            c.cfg.Role,
		Tier:            c.cfg.Tier,
		Capabilities:    c.cfg.Capabilities,
		Preparing:       preparing,
	})
	if err != nil {
		return nil, err
	}
	subject := c.subj.Register(c.cfg.FirmID)
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
		msg, err := c.nc.RequestWithContext(rctx, subject, req)
		cancel()
		if err == nil {
			reply := &pb.RegisterReply{}
			if err := proto.Unmarshal(msg.Data, reply); err != nil {
				return nil, fmt.Errorf("register: undecodable reply: %w", err)
			}
			if !reply.GetAccepted() {
				return nil, &RefusedError{Code: reply.GetReject().GetCode(), Detail: reply.GetReject().GetDetail()}
			}
			if reply.GetParams() == nil {
				return nil, errors.New("register: accepted reply without RunParams")
			}
			c.mu.Lock()
			c.params, c.firmIndex, c.startRound = reply.GetParams(), reply.GetFirmIndex(), reply.GetCurrentRound()
			c.mu.Unlock()
			c.log.Info("registered", "preparing", preparing, "round", reply.GetCurrentRound(), "attempts", attempt)
			return reply.GetParams(), nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("register (%d attempts): %w", attempt, ctx.Err())
		}
		if c.nc.IsClosed() {
			return nil, fmt.Errorf("register: %w", nats.ErrConnectionClosed)
		}
		if attempt == 1 || attempt%25 == 0 {
			c.log.Info("market not answering yet; retrying", "err", err, "attempts", attempt)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("register (%d attempts): %w", attempt, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Handler decides the firm's quantities: Move gets each MoveRequest of the firm's tier that
// names the firm and matches the run (CheckMove: batch, array lengths, finite values) and returns
// exactly B quantities (one per instance, in [0, quantity_max]). An answer holding NaN or an
// infinity is not submitted: Run logs it and skips the round (the market applies the run's default
// action). An error, or an answer of another length, ends Run with that error. A Handler may also
// implement OutcomeObserver, ControlObserver and RejectObserver.
type Handler interface {
	Move(ctx context.Context, req *pb.MoveRequest) ([]float64, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *pb.MoveRequest) ([]float64, error)

// Move calls f.
func (f HandlerFunc) Move(ctx context.Context, req *pb.MoveRequest) ([]float64, error) {
	return f(ctx, req)
}

// OutcomeObserver receives each round's Outcome once, if it matches the run (CheckOutcome); the
// client subscribes to outcomes only for handlers implementing it.
type OutcomeObserver interface{ Outcome(o *pb.Outcome) }

// ControlObserver receives every RunControl (before the client acts on it).
type ControlObserver interface{ Control(rc *pb.RunControl) }

// RejectObserver receives every Reject the market sends the firm.
type RejectObserver interface{ Reject(r *pb.Reject) }

// Run subscribes to the firm's subjects, registers ready (preparing = false; call
// Register(ctx, true) first to build a policy from the run's parameters), and then answers each
// MoveRequest with h until END_OF_RUN (nil, or a *RunFailedError when the run failed), ctx ends,
// the connection closes or h fails. It registers again on a Reject UNKNOWN_FIRM (evicted) and on
// RunControl REGISTER (the market restarted). Messages that do not decode or do not match the run
// are dropped; they and rejects are logged at most once every Config.LogInterval per kind.
func (c *Client) Run(ctx context.Context, h Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer c.wire.Flush()
	in := make(chan *nats.Msg, 1024)
	subjects := []string{c.subj.Move(c.cfg.Tier), c.subj.Control(), c.subj.Reject(c.cfg.FirmID)}
	if _, ok := h.(OutcomeObserver); ok {
		subjects = append(subjects, c.subj.Outcome())
	}
	for _, s := range subjects {
		sub, err := c.nc.ChanSubscribe(s, in)
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", s, err)
		}
		_ = sub.SetPendingLimits(-1, -1)
		defer func() { _ = sub.Unsubscribe() }()
	}
	fctx, fcancel := context.WithTimeout(ctx, 10*time.Second)
	err := c.nc.FlushWithContext(fctx)
	fcancel()
	if err != nil {
		return fmt.Errorf("flush subscriptions: %w", err)
	}
	if _, err := c.Register(ctx, false); err != nil {
		return err
	}

	fatal := make(chan error, 1)
	// One goroutine registers again on request. A request that arrives while a registration is in
	// flight stays pending and registers once more afterwards: the one in flight may have reached a
	// market that has since restarted (RunControl REGISTER).
	reRegisters := make(chan struct{}, 1)
	reRegister := func(why string) {
		c.log.Info("registering again", "why", why)
		select {
		case reRegisters <- struct{}{}:
		default: // one is pending already
		}
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-reRegisters:
			}
			if _, err := c.Register(ctx, false); err != nil && ctx.Err() == nil {
				select {
				case fatal <- fmt.Errorf("registering again: %w", err):
				default:
				}
				return
			}
		}
	}()

	var lastOutcome uint64
	seenOutcome := false
	for {
		var m *nats.Msg
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-fatal:
			return err
		case <-c.closed:
			return nats.ErrConnectionClosed
		case m = <-in:
		}
		switch {
		case m.Subject == c.subj.Move(c.cfg.Tier):
			if err := c.onMove(ctx, h, m.Data); err != nil {
				return err
			}
		case m.Subject == c.subj.Control():
			rc := &pb.RunControl{}
			if err := proto.Unmarshal(m.Data, rc); err != nil {
				c.wire.Warn("undecodable.RunControl", "undecodable RunControl dropped", "err", clip(err.Error(), 300))
				continue
			}
			if o, ok := h.(ControlObserver); ok {
				o.Control(rc)
			}
			switch rc.GetKind() {
			case pb.ControlKind_REGISTER:
				reRegister("market asked firms to register")
			case pb.ControlKind_END_OF_RUN:
				if rc.GetFailed() {
					return &RunFailedError{Reason: rc.GetReason()}
				}
				c.log.Info("end of run", "reason", rc.GetReason())
				return nil
			case pb.ControlKind_START:
				c.log.Info("run started", "round", rc.GetRound())
			}
		case m.Subject == c.subj.Reject(c.cfg.FirmID):
			r := &pb.Reject{}
			if err := proto.Unmarshal(m.Data, r); err != nil {
				c.wire.Warn("undecodable.Reject", "undecodable Reject dropped", "err", clip(err.Error(), 300))
				continue
			}
			code := r.GetCode().String()
			c.wire.Warn("reject."+code, "market rejected a message", "code", code, "round", r.GetRound(), "detail", clip(r.GetDetail(), 300))
			if o, ok := h.(RejectObserver); ok {
				o.Reject(r)
			}
			if r.GetCode() == pb.RejectCode_UNKNOWN_FIRM {
				reRegister("market does not know this firm")
			}
		case m.Subject == c.subj.Outcome():
			o := &pb.Outcome{}
			if err := proto.Unmarshal(m.Data, o); err != nil {
				c.wire.Warn("undecodable.Outcome", "undecodable Outcome dropped", "err", clip(err.Error(), 300))
				continue
			}
			// Ignore an outcome of a round already observed (docs/protocol.md).
			if seenOutcome && o.GetRound() <= lastOutcome {
				continue
			}
			if err := CheckOutcome(c.Params(), o, c.cfg.FirmID); err != nil {
				c.wire.Warn("invalid.Outcome", "outcome dropped", "err", err)
				continue
			}
			seenOutcome, lastOutcome = true, o.GetRound()
			h.(OutcomeObserver).Outcome(o)
		}
	}
}

// onMove answers one move request: it drops what does not decode, does not name the firm or does
// not match the run (CheckMove) before the handler sees it, and a round whose answer is not finite.
func (c *Client) onMove(ctx context.Context, h Handler, data []byte) error {
	req := &pb.MoveRequest{}
	if err := proto.Unmarshal(data, req); err != nil {
		c.wire.Warn("undecodable.MoveRequest", "undecodable MoveRequest dropped", "err", clip(err.Error(), 300))
		return nil
	}
	if !slices.Contains(req.GetTierFirmIds(), c.cfg.FirmID) {
		return nil // evicted, or not expected this round
	}
	params := c.Params()
	if err := CheckMove(params, req, c.cfg.FirmID); err != nil {
		c.wire.Warn("invalid.MoveRequest", "move request dropped", "err", err)
		return nil
	}
	batch := int(params.GetBatch())
	q, err := h.Move(ctx, req)
	if err != nil {
		return fmt.Errorf("round %d: %w", req.GetRound(), err)
	}
	if len(q) != batch {
		return fmt.Errorf("round %d: handler returned %d quantities, the run's batch is %d", req.GetRound(), len(q), batch)
	}
	if i := firstNonFinite(q); i >= 0 {
		// A policy that diverged: the market applies the default action for this round, and the
		// firm carries on (the next round may be fine).
		c.wire.Warn("handler.non-finite", "round skipped: the handler answered a non-finite quantity", "round", req.GetRound(), "instance", i, "value", q[i])
		return nil
	}
	return c.Submit(req.GetRound(), q)
}

// Submit publishes the firm's quantities for a round on stk.<run>.submit.<firmId>. Run calls it
// with the handler's answer; call it directly only to drive the protocol by hand.
func (c *Client) Submit(round uint64, quantities []float64) error {
	b, err := proto.Marshal(&pb.Submission{RunId: c.cfg.Run, FirmId: c.cfg.FirmID, Round: round, Quantities: quantities})
	if err != nil {
		return err
	}
	return c.nc.Publish(c.subj.Submit(c.cfg.FirmID), b)
}

// clip bounds a string taken off the wire and escapes its control characters before it is logged.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "..."
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
