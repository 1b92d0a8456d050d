// Package bestresponse is the quantity a follower of a stackelberg.v1 run plays against the
// quantities committed by earlier tiers, for linear inverse demand P = max(0, a + shift - b Q).
//
// The firms of the follower's tier move simultaneously, so the exact best response of one of them
// depends on what the others of its tier play: the package plays the Cournot equilibrium of the
// tier in the residual demand a + shift - b S (S = the earlier tiers' committed total), with every
// tier firm's marginal cost c_i + d_i q_i (linear, quadratic, and learning-by-doing costs at their
// current marginal cost; the adjustment cost (kappa/2)(q - q_prev)^2 adds kappa to d_i and
// subtracts kappa q_prev from c_i). With one firm in the tier this is q = (a - c - b S) / (2b)
// (clamped); with n firms of linear costs q_i = (a - b S - (n+1) c_i + sum_j c_j) / (b (n+1)).
//
// Limits: it is myopic (one round; it ignores later tiers' reactions, so it is the exact
// Stackelberg play only for the last tier, and it ignores the future effect of learning-by-doing
// and adjustment costs), it assumes the tier's other firms play their equilibrium quantities, and
// it handles only linear demand.
package bestresponse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/stackelberg-market/clients/go/firm"
	pb "github.com/stackelberg-market/clients/go/gen/stackelbergv1"
)

// Firm is one tier firm's marginal cost at quantity q: C + D q (D >= 0).
type Firm struct{ C, D float64 }

// Cournot is the Cournot equilibrium of firms facing inverse demand P = A - b Q_tier, with each
// quantity in [0, qmax] (qmax <= 0: no upper bound). Firms whose interior quantity would leave
// the range are fixed at the bound and the others solved again, until no bound is crossed.
func Cournot(A, b float64, firms []Firm, qmax float64) []float64 {
	n := len(firms)
	q := make([]float64, n)
	if b <= 0 || n == 0 {
		return q
	}
	fixed := make([]bool, n) // at a bound (0 or qmax)
	for iter := 0; iter <= 2*n; iter++ {
		// Residual level after the fixed firms.
		level := A
		for i, f := range fixed {
			if f {
				level -= b * q[i]
			}
		}
		// FOC of free firm i: level - b Q_free - (b + D_i) q_i - C_i = 0.
		// q_i = (level - b Q_free - C_i) / (b + D_i); summing: Q_free = sum r_i / (1 + b sum w_i)
		// with w_i = 1 / (b + D_i), r_i = (level - C_i) w_i.
		var sumR, sumW float64
		for i, f := range firms {
			if fixed[i] {
				continue
			}
			w := 1 / (b + math.Max(f.D, 0))
			sumR += (level - f.C) * w
			sumW += w
		}
		qFree := sumR / (1 + b*sumW)
		changed := false
		for i, f := range firms {
			if fixed[i] {
				continue
			}
			v := (level - b*qFree - f.C) / (b + math.Max(f.D, 0))
			switch {
			case v < 0:
				q[i], fixed[i], changed = 0, true, true
			case qmax > 0 && v > qmax:
				q[i], fixed[i], changed = qmax, true, true
			default:
				q[i] = v
			}
		}
		if !changed {
			break
		}
	}
	return q
}

// Single is the best response of a lone follower with linear cost c to earlier tiers' total S:
// max(0, (a - c - b S) / (2b)), clamped to qmax when qmax > 0.
func Single(a, b, c, S, qmax float64) float64 {
	return Cournot(a-b*S, b, []Firm{{C: c}}, qmax)[0]
}

// ErrUnsupported is wrapped by New's error for runs the policy cannot play.
var ErrUnsupported = errors.New("unsupported")

// Policy answers MoveRequests with the best response. It implements firm.Handler.
type Policy struct {
	params *pb.RunParams
	firmID string
	a, b   float64
	costs  map[string]*pb.Cost
}

// New makes the policy of firmID from the run's parameters. It refuses (ErrUnsupported) a
// demand that is not linear, and a firm in tier 0 (a leader anticipates its followers; this is a
// follower's rule).
func New(params *pb.RunParams, firmID string) (*Policy, error) {
	lin := params.GetDemand().GetLinear()
	if lin == nil {
		kind := "none"
		switch params.GetDemand().GetModel().(type) {
		case *pb.Demand_ConstantElasticity:
			kind = "constant-elasticity"
		case *pb.Demand_Exponential:
			kind = "exponential"
		}
		return nil, fmt.Errorf("%w demand %s: the best-response follower handles only linear demand P = a - b Q", ErrUnsupported, kind)
	}
	if lin.GetB() <= 0 {
		return nil, fmt.Errorf("%w linear demand with b = %v (want b > 0)", ErrUnsupported, lin.GetB())
	}
	p := &Policy{params: params, firmID: firmID, a: lin.GetA(), b: lin.GetB(), costs: map[string]*pb.Cost{}}
	found := false
	for _, f := range params.GetFirms() {
		p.costs[f.GetFirmId()] = f.GetCost()
		if f.GetFirmId() == firmID {
			found = true
			if f.GetTier() == 0 {
				return nil, fmt.Errorf("%w: firm %s is in tier 0 (a leader); the best-response follower plays in a later tier", ErrUnsupported, firmID)
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("firm %s is not in the run's parameters", firmID)
	}
	return p, nil
}

// marginal is a firm's marginal cost at zero output and its slope, from its Cost.
func marginal(c *pb.Cost) Firm {
	switch m := c.GetModel().(type) {
	case *pb.Cost_Linear:
		return Firm{C: m.Linear.GetC()}
	case *pb.Cost_Quadratic:
		return Firm{C: m.Quadratic.GetC(), D: m.Quadratic.GetD()}
	case *pb.Cost_LearningByDoing:
		return Firm{C: m.LearningByDoing.GetC0()} // at K = 0; own_marginal_cost carries the current one
	}
	return Firm{}
}

// Move returns the best response in every instance of req.
func (p *Policy) Move(_ context.Context, req *pb.MoveRequest) ([]float64, error) {
	batch := int(p.params.GetBatch())
	ids := req.GetTierFirmIds()
	if !slices.Contains(ids, p.firmID) {
		return nil, fmt.Errorf("firm %s is not in the move request's tier", p.firmID)
	}
	S, err := firm.CommittedTotal(req, batch)
	if err != nil {
		return nil, err
	}
	shift := firm.ObservationColumn(p.params, req, pb.ObservationColumn_DEMAND_SHIFT)
	kappa := p.params.GetAdjustmentCost()
	out := make([]float64, batch)
	tier := make([]Firm, len(ids))
	for i := range batch {
		me := 0
		for j, id := range ids {
			f := marginal(p.costs[id])
			if mc := firm.Row(req.GetOwnMarginalCost(), j, batch); mc != nil {
				f.C = mc[i]
			}
			if kappa > 0 {
				prev := 0.0
				if last := firm.Row(req.GetOwnLastQuantity(), j, batch); last != nil {
					prev = last[i]
				}
				f.C -= kappa * prev
				f.D += kappa
			}
			tier[j] = f
			if id == p.firmID {
				me = j
			}
		}
		level := p.a - p.b*S[i]
		if shift != nil {
			level += shift[i]
		}
		out[i] = Cournot(level, p.b, tier, p.params.GetQuantityMax())[me]
	}
	return out, nil
}
