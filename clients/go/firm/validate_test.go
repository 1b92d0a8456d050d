package firm_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stackelberg-market/clients/go/firm"
	pb "github.com/stackelberg-market/clients/go/gen/stackelbergv1"
)

const vb = 3 // batch of the validation tests

func vParams(mod func(*pb.RunParams)) *pb.RunParams {
	lin := &pb.Cost{Model: &pb.Cost_Linear{Linear: &pb.LinearCost{C: 10}}}
	p := &pb.RunParams{Batch: vb, QuantityMax: 100, Firms: []*pb.FirmInfo{
		{FirmId: "lead", Tier: 0, Cost: lin}, {FirmId: "f1", Tier: 1, Cost: lin}, {FirmId: "f2", Tier: 1, Cost: lin},
	}}
	if mod != nil {
		mod(p)
	}
	return p
}

func vMove(mod func(*pb.MoveRequest)) *pb.MoveRequest {
	m := &pb.MoveRequest{Round: 5, Batch: vb, Tier: 1, TierFirmIds: []string{"f1", "f2"},
		Committed: []*pb.TierQuantities{{Tier: 0, FirmIds: []string{"lead"}, Quantities: []float64{40, 45, 50}}}}
	if mod != nil {
		mod(m)
	}
	return m
}

func withColumn(p *pb.RunParams) {
	p.ObservationColumns = []pb.ObservationColumn{pb.ObservationColumn_DEMAND_SHIFT}
}

func withLBD(p *pb.RunParams) {
	p.Firms[1].Cost = &pb.Cost{Model: &pb.Cost_LearningByDoing{LearningByDoing: &pb.LearningByDoingCost{C0: 40, CMin: 10, Rate: 0.01}}}
}

func committed(q ...float64) func(*pb.MoveRequest) {
	return func(m *pb.MoveRequest) { m.Committed[0].Quantities = q }
}

func TestCheckMoveAcceptsWellFormedRequests(t *testing.T) {
	if err := firm.CheckMove(vParams(nil), vMove(nil), "f1"); err != nil {
		t.Fatal(err)
	}
	p := vParams(func(p *pb.RunParams) { withColumn(p); withLBD(p); p.AdjustmentCost = 0.5 })
	m := vMove(func(m *pb.MoveRequest) {
		m.Observation = []float64{1, -1, 0}
		m.OwnLastQuantity = make([]float64, 2*vb)
		m.OwnMarginalCost = []float64{40, 40, 40, 10, 10, 10}
	})
	if err := firm.CheckMove(p, m, "f1"); err != nil {
		t.Fatal(err)
	}
	// Per-firm rows a run does not carry may be empty or full.
	if err := firm.CheckMove(vParams(nil), vMove(func(m *pb.MoveRequest) { m.OwnLastQuantity = make([]float64, 2*vb) }), "f1"); err != nil {
		t.Fatal(err)
	}
}

func TestCheckMoveNamesWhatIsWrong(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		want string
		p    *pb.RunParams
		m    *pb.MoveRequest
	}{
		{"the move request does not name f1", vParams(nil), vMove(func(m *pb.MoveRequest) { m.TierFirmIds = []string{"f2"} })},
		{"batch 4, the run's batch is 3", vParams(nil), vMove(func(m *pb.MoveRequest) { m.Batch = vb + 1 })},
		{"3 observation values, want 3 x 0 = 0", vParams(nil), vMove(func(m *pb.MoveRequest) { m.Observation = []float64{1, 1, 1} })},
		{"0 observation values, want 3 x 1 = 3", vParams(withColumn), vMove(nil)},
		{"observation[1] = NaN is not finite", vParams(withColumn), vMove(func(m *pb.MoveRequest) { m.Observation = []float64{1, nan, 0} })},
		{"committed[0] (tier 0) holds 2 quantities, want 1 firms x 3 = 3", vParams(nil), vMove(committed(1, 2))},
		{"committed[0] (tier 0) holds 4 quantities", vParams(nil), vMove(committed(1, 2, 3, 4))},
		{"committed[0].quantities[1] = NaN is not finite", vParams(nil), vMove(committed(1, nan, 2))},
		{"committed[0].quantities[0] = +Inf is not finite", vParams(nil), vMove(committed(inf, 1, 2))},
		{"0 own_last_quantity values, want 2 firms x 3 = 6", vParams(func(p *pb.RunParams) { p.AdjustmentCost = 1 }), vMove(nil)},
		{"3 own_marginal_cost values", vParams(withLBD), vMove(func(m *pb.MoveRequest) { m.OwnMarginalCost = []float64{1, 1, 1} })},
		{"own_last_quantity[5] = NaN", vParams(func(p *pb.RunParams) { p.AdjustmentCost = 1 }), vMove(func(m *pb.MoveRequest) {
			m.OwnLastQuantity = []float64{0, 0, 0, 0, 0, nan}
		})},
	}
	for _, c := range cases {
		err := firm.CheckMove(c.p, c.m, "f1")
		if err == nil || !errors.Is(err, firm.ErrInvalidMessage) || !strings.Contains(err.Error(), "round 5: "+c.want) {
			t.Errorf("CheckMove = %v, want %q", err, c.want)
		}
	}
}

func TestCheckOutcome(t *testing.T) {
	out := func(mod func(*pb.Outcome)) *pb.Outcome {
		o := &pb.Outcome{Round: 5, Batch: vb, FirmIds: []string{"f1", "f2", "lead"}, Prices: []float64{1, 1, 1},
			Quantities: make([]float64, 3*vb), Profits: make([]float64, 3*vb), Absent: make([]bool, 3), Evicted: make([]bool, 3)}
		if mod != nil {
			mod(o)
		}
		return o
	}
	if err := firm.CheckOutcome(vParams(nil), out(nil), "f1"); err != nil {
		t.Fatal(err)
	}
	if err := firm.CheckOutcome(vParams(nil), out(func(o *pb.Outcome) { o.Absent, o.Evicted = nil, nil }), "f1"); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*pb.Outcome){
		"batch 2, the run's batch is 3": func(o *pb.Outcome) { o.Batch = 2 },
		"does not name f1":              func(o *pb.Outcome) { o.FirmIds = []string{"a", "b", "c"} },
		"2 prices, want 3":              func(o *pb.Outcome) { o.Prices = o.Prices[:2] },
		"8 quantities, want 9":          func(o *pb.Outcome) { o.Quantities = o.Quantities[:8] },
		"10 profits, want 9":            func(o *pb.Outcome) { o.Profits = append(o.Profits, 1) },
		"profits[8] = -Inf":             func(o *pb.Outcome) { o.Profits[8] = math.Inf(-1) },
		"prices[0] = NaN":               func(o *pb.Outcome) { o.Prices[0] = math.NaN() },
		"1 absent flags for 3 firms":    func(o *pb.Outcome) { o.Absent = []bool{true} },
		"4 evicted flags for 3 firms":   func(o *pb.Outcome) { o.Evicted = make([]bool, 4) },
	}
	for want, mod := range cases {
		if err := firm.CheckOutcome(vParams(nil), out(mod), "f1"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckOutcome = %v, want %q", err, want)
		}
	}
}

func TestCommittedTotalRefusesArraysOfTheWrongLength(t *testing.T) {
	got, err := firm.CommittedTotal(vMove(nil), vb)
	if err != nil || len(got) != vb || got[0] != 40 || got[2] != 50 {
		t.Fatalf("CommittedTotal = %v, %v", got, err)
	}
	two := vMove(func(m *pb.MoveRequest) {
		m.Committed[0].FirmIds = []string{"a", "b"}
		m.Committed[0].Quantities = []float64{1, 2, 3, 10, 20, 30}
	})
	if got, err := firm.CommittedTotal(two, vb); err != nil || got[0] != 11 || got[1] != 22 || got[2] != 33 {
		t.Fatalf("CommittedTotal of two firms = %v, %v", got, err)
	}
	for _, q := range [][]float64{{1, 2}, {1, 2, 3, 4}} {
		if _, err := firm.CommittedTotal(vMove(committed(q...)), vb); !errors.Is(err, firm.ErrInvalidMessage) {
			t.Errorf("CommittedTotal of %d values = %v, want ErrInvalidMessage", len(q), err)
		}
	}
}
