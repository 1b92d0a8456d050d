// Command br-follower is a follower firm of a stackelberg.v1 run that plays the best response to
// the earlier tiers' committed quantities under linear demand (see package bestresponse).
//
//	br-follower --nats nats://host:4222 --run RUN --firm follower --creds firm-follower.nk
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stackelberg-market/clients/go/bestresponse"
	"github.com/stackelberg-market/clients/go/firm"
	pb "github.com/stackelberg-market/clients/go/gen/stackelbergv1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "br-follower:", err)
		os.Exit(1)
	}
}

// logOutcomes logs the firm's quantity and profit in instance 0 every `every` rounds.
type logOutcomes struct {
	*bestresponse.Policy
	id    string
	every uint64
	log   *slog.Logger
}

func (l *logOutcomes) Outcome(o *pb.Outcome) {
	if l.every == 0 || o.GetRound()%l.every != 0 || len(o.GetPrices()) == 0 {
		return
	}
	b := int(o.GetBatch())
	attrs := []any{"round", o.GetRound(), "price", o.GetPrices()[0]}
	for k, id := range o.GetFirmIds() {
		if q := firm.Row(o.GetQuantities(), k, b); q != nil {
			attrs = append(attrs, "q."+id, q[0])
		}
		if p := firm.Row(o.GetProfits(), k, b); p != nil && id == l.id {
			attrs = append(attrs, "profit", p[0])
		}
	}
	l.log.Info("outcome (instance 0)", attrs...)
}

func run() error {
	var (
		url      = flag.String("nats", "nats://127.0.0.1:4222", "NATS server URL (tls://... for TLS)")
		runID    = flag.String("run", "", "run id (required)")
		firmID   = flag.String("firm", "", "firm id (required)")
		tier     = flag.Uint("tier", 1, "the firm's tier (followers: 1 or later)")
		creds    = flag.String("creds", "", "credentials: the firm's nkey seed file (firm-<id>.nk) or a directory holding it; a .creds file works too")
		tlsCA    = flag.String("tls-ca", "", "CA certificate to verify the server with")
		tlsCert  = flag.String("tls-cert", "", "client certificate (servers that verify clients)")
		tlsKey   = flag.String("tls-key", "", "client certificate key")
		wait     = flag.Duration("register-timeout", 60*time.Second, "how long to wait for the market to answer a registration")
		logEvery = flag.Uint64("log-every", 0, "log the firm's outcome in instance 0 every N rounds (0: never)")
		verbose  = flag.Bool("v", false, "debug logging")
	)
	flag.Parse()
	if *runID == "" || *firmID == "" {
		return errors.New("--run and --firm are required")
	}
	if *tier == 0 {
		return errors.New("--tier 0 is the leaders' tier; br-follower plays a follower (tier >= 1)")
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	seed := *creds
	if st, err := os.Stat(seed); err == nil && st.IsDir() {
		seed = filepath.Join(seed, "firm-"+*firmID+".nk")
	}
	if seed == "" {
		logger.Warn("no --creds: connecting without credentials (only a server without auth accepts this)")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := firm.Connect(ctx, firm.Config{
		URL: *url, Run: *runID, FirmID: *firmID, Role: pb.Role_ROLE_FOLLOWER, Tier: uint32(*tier),
		SeedFile: seed, TLSCA: *tlsCA, TLSCert: *tlsCert, TLSKey: *tlsKey,
		Capabilities: []string{"policy:best-response", "client:go"}, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()

	rctx, cancel := context.WithTimeout(ctx, *wait)
	params, err := c.Register(rctx, true)
	cancel()
	if err != nil {
		return err
	}
	policy, err := bestresponse.New(params, *firmID)
	if err != nil {
		return err
	}
	var h firm.Handler = policy
	if *logEvery > 0 {
		h = &logOutcomes{Policy: policy, id: *firmID, every: *logEvery, log: logger}
	}
	logger.Info("playing the best response", "run", *runID, "firm", *firmID, "tier", *tier, "batch", params.GetBatch())
	return c.Run(ctx, h)
}
