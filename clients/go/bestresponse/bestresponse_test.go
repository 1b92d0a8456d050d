package bestresponse

import (
	"context"
	"errors"
	"math"
	"testing"

	pb "github.com/stackelberg-market/clients/go/gen/stackelbergv1"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

func TestSingle(t *testing.T) {
	near(t, "duopoly follower vs leader 45", Single(100, 1, 10, 45, 100), 22.5)
	near(t, "no leader (monopoly)", Single(100, 1, 10, 0, 100), 45)
	near(t, "b = 2", Single(100, 2, 10, 20, 0), (100-10-2*20)/(2*2.0))
	near(t, "leader floods the market", Single(100, 1, 10, 95, 100), 0)
	near(t, "clamped to quantity_max", Single(100, 1, 10, 0, 30), 30)
	near(t, "no upper bound when qmax <= 0", Single(1000, 1, 0, 0, 0), 500)
}

func TestCournotLinearMatchesClosedForm(t *testing.T) {
	a, b, S := 120.0, 1.5, 10.0
	cs := []float64{10, 12, 20}
	firms := make([]Firm, len(cs))
	sum := 0.0
	for i, c := range cs {
		firms[i] = Firm{C: c}
		sum += c
	}
	q := Cournot(a-b*S, b, firms, 0)
	n := float64(len(cs))
	for i, c := range cs {
		near(t, "q_i", q[i], (a-b*S-(n+1)*c+sum)/(b*(n+1)))
	}
}

func TestCournotDropsFirmsPricedOut(t *testing.T) {
	// The third firm's cost is above the price the first two leave: it produces 0, and the others
	// play the duopoly among themselves.
	q := Cournot(100, 1, []Firm{{C: 10}, {C: 10}, {C: 80}}, 0)
	near(t, "q0", q[0], 30)
	near(t, "q1", q[1], 30)
	near(t, "q2", q[2], 0)
	// Demand level below every cost: nobody produces.
	for i, v := range Cournot(5, 1, []Firm{{C: 10}, {C: 20}}, 0) {
		near(t, "priced out", v, 0)
		_ = i
	}
}

func TestCournotQuadraticAndCap(t *testing.T) {
	// One firm, C = c q + (d/2) q^2: q = (A - c) / (2b + d).
	near(t, "quadratic", Cournot(100, 1, []Firm{{C: 10, D: 2}}, 0)[0], 90.0/4)
	// Two firms, one capped: the other best-responds to the cap.
	q := Cournot(100, 1, []Firm{{C: 0}, {C: 0}}, 20)
	near(t, "capped q0", q[0], 20)
	near(t, "capped q1", q[1], 20)
	q = Cournot(200, 1, []Firm{{C: 0}, {C: 150}}, 50)
	near(t, "cap binds on the cheap firm", q[0], 50)
	near(t, "the dear firm answers the cap", q[1], 0)
	q = Cournot(200, 1, []Firm{{C: 0}, {C: 100}}, 70)
	near(t, "q0 at cap", q[0], 70)
	near(t, "q1 answers the cap", q[1], (200-70-100)/2.0)
}

func params(demand *pb.Demand, firms ...*pb.FirmInfo) *pb.RunParams {
	return &pb.RunParams{RunId: "r", Batch: 2, Tiers: 2, QuantityMax: 100, Demand: demand, Firms: firms}
}

func linCost(c float64) *pb.Cost {
	return &pb.Cost{Model: &pb.Cost_Linear{Linear: &pb.LinearCost{C: c}}}
}

func TestPolicy(t *testing.T) {
	p := params(&pb.Demand{Model: &pb.Demand_Linear{Linear: &pb.LinearDemand{A: 100, B: 1}}},
		&pb.FirmInfo{FirmId: "f1", Role: pb.Role_ROLE_FOLLOWER, Tier: 1, Cost: linCost(10)},
		&pb.FirmInfo{FirmId: "f2", Role: pb.Role_ROLE_FOLLOWER, Tier: 1, Cost: linCost(16)},
		&pb.FirmInfo{FirmId: "leader", Role: pb.Role_ROLE_LEADER, Tier: 0, Cost: linCost(10)},
	)
	p.ObservationColumns = []pb.ObservationColumn{pb.ObservationColumn_DEMAND_SHIFT, pb.ObservationColumn_LAST_PRICE}
	pol, err := New(p, "f1")
	if err != nil {
		t.Fatal(err)
	}
	req := &pb.MoveRequest{
		Batch: 2, Tier: 1, TierFirmIds: []string{"f1", "f2"},
		Observation: []float64{0, 1, 6, 1}, // instance 1 has demand shifted by +6
		Committed:   []*pb.TierQuantities{{Tier: 0, FirmIds: []string{"leader"}, Quantities: []float64{45, 30}}},
	}
	q, err := pol.Move(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// q_1 = (a - b S - 3 c_1 + c_1 + c_2) / 3b
	near(t, "instance 0", q[0], (100-45-3*10+10+16)/3.0)
	near(t, "instance 1", q[1], (106-30-3*10+10+16)/3.0)

	// Learning-by-doing: the move request's own_marginal_cost overrides the Cost.
	req.OwnMarginalCost = []float64{4, 4, 16, 16}
	q, _ = pol.Move(context.Background(), req)
	near(t, "current marginal cost", q[0], (100-45-3*4+4+16)/3.0)
}

func TestPolicyAdjustmentCost(t *testing.T) {
	p := params(&pb.Demand{Model: &pb.Demand_Linear{Linear: &pb.LinearDemand{A: 100, B: 1}}},
		&pb.FirmInfo{FirmId: "f", Tier: 1, Cost: linCost(10)},
		&pb.FirmInfo{FirmId: "l", Tier: 0, Cost: linCost(10)},
	)
	p.AdjustmentCost = 2
	pol, err := New(p, "f")
	if err != nil {
		t.Fatal(err)
	}
	q, _ := pol.Move(context.Background(), &pb.MoveRequest{
		Batch: 2, TierFirmIds: []string{"f"}, OwnLastQuantity: []float64{20, 0},
		Committed: []*pb.TierQuantities{{FirmIds: []string{"l"}, Quantities: []float64{45, 45}}},
	})
	// max (100 - 45 - q) q - 10 q - (k/2)(q - q0)^2  =>  q = (45 + k q0) / (2 + k)
	near(t, "with last 20", q[0], (45+2*20)/4.0)
	near(t, "with last 0", q[1], 45/4.0)
}

func TestNewRefuses(t *testing.T) {
	f := &pb.FirmInfo{FirmId: "f", Tier: 1, Cost: linCost(1)}
	ce := &pb.Demand{Model: &pb.Demand_ConstantElasticity{ConstantElasticity: &pb.ConstantElasticityDemand{Scale: 100, Elasticity: 1.5}}}
	if _, err := New(params(ce, f), "f"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("constant-elasticity demand: err = %v", err)
	}
	ex := &pb.Demand{Model: &pb.Demand_Exponential{Exponential: &pb.ExponentialDemand{A: 100, B: 0.1}}}
	if _, err := New(params(ex, f), "f"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("exponential demand: err = %v", err)
	}
	lin := &pb.Demand{Model: &pb.Demand_Linear{Linear: &pb.LinearDemand{A: 100, B: 1}}}
	if _, err := New(params(lin, &pb.FirmInfo{FirmId: "f", Tier: 0}), "f"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("tier 0: err = %v", err)
	}
	if _, err := New(params(lin, f), "other"); err == nil {
		t.Error("unknown firm accepted")
	}
}
