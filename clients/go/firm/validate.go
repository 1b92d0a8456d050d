package firm

import (
	"errors"
	"fmt"
	"math"
	"slices"

	pb "github.com/stackelberg-market/clients/go/gen/stackelbergv1"
)

// ErrInvalidMessage is wrapped by the errors of CheckMove and CheckOutcome: a message that decodes
// but does not match the run. Run drops such messages (and logs them at a bounded rate), so a
// Handler only ever sees move requests whose arrays have the run's shape and hold finite numbers.
var ErrInvalidMessage = errors.New("does not match the run")

// CarriesOwnLastQuantity says whether the run's move requests carry own_last_quantity (the run has
// an adjustment cost).
func CarriesOwnLastQuantity(params *pb.RunParams) bool { return params.GetAdjustmentCost() > 0 }

// CarriesOwnMarginalCost says whether the run's move requests carry own_marginal_cost (some firm
// has a learning-by-doing cost).
func CarriesOwnMarginalCost(params *pb.RunParams) bool {
	for _, f := range params.GetFirms() {
		if f.GetCost().GetLearningByDoing() != nil {
			return true
		}
	}
	return false
}

func firstNonFinite(values []float64) int {
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return i
		}
	}
	return -1
}

func invalid(round uint64, format string, args ...any) error {
	return fmt.Errorf("%w: round %d: %s", ErrInvalidMessage, round, fmt.Sprintf(format, args...))
}

// CheckMove returns nil when req is a move request firmID can act on in the run params describes,
// or an error wrapping ErrInvalidMessage that says what is wrong: it must name the firm in
// tier_firm_ids, have the run's batch B, B x len(observation_columns) observation values,
// len(firm_ids) * B values in each committed entry, one row per tier firm in own_last_quantity and
// own_marginal_cost (required in the runs that carry them, else empty or full), and only finite
// numbers.
func CheckMove(params *pb.RunParams, req *pb.MoveRequest, firmID string) error {
	r := req.GetRound()
	if !slices.Contains(req.GetTierFirmIds(), firmID) {
		return invalid(r, "the move request does not name %s", clip(firmID, 64))
	}
	b := int(params.GetBatch())
	if int(req.GetBatch()) != b {
		return invalid(r, "batch %d, the run's batch is %d", req.GetBatch(), b)
	}
	c := len(params.GetObservationColumns())
	if obs := req.GetObservation(); len(obs) != b*c {
		return invalid(r, "%d observation values, want %d x %d = %d", len(obs), b, c, b*c)
	} else if i := firstNonFinite(obs); i >= 0 {
		return invalid(r, "observation[%d] = %v is not finite", i, obs[i])
	}
	for k, t := range req.GetCommitted() {
		q := t.GetQuantities()
		if want := len(t.GetFirmIds()) * b; len(q) != want {
			return invalid(r, "committed[%d] (tier %d) holds %d quantities, want %d firms x %d = %d", k, t.GetTier(), len(q), len(t.GetFirmIds()), b, want)
		}
		if i := firstNonFinite(q); i >= 0 {
			return invalid(r, "committed[%d].quantities[%d] = %v is not finite", k, i, q[i])
		}
	}
	n := len(req.GetTierFirmIds())
	for _, own := range []struct {
		name     string
		values   []float64
		required bool
	}{
		{"own_last_quantity", req.GetOwnLastQuantity(), CarriesOwnLastQuantity(params)},
		{"own_marginal_cost", req.GetOwnMarginalCost(), CarriesOwnMarginalCost(params)},
	} {
		if len(own.values) != n*b && (own.required || len(own.values) != 0) {
			return invalid(r, "%d %s values, want %d firms x %d = %d", len(own.values), own.name, n, b, n*b)
		}
		if i := firstNonFinite(own.values); i >= 0 {
			return invalid(r, "%s[%d] = %v is not finite", own.name, i, own.values[i])
		}
	}
	return nil
}

// CheckOutcome returns nil when o is an outcome firmID can learn from, or an error wrapping
// ErrInvalidMessage: it must have the run's batch B, name the firm in firm_ids, carry B prices and
// len(firm_ids) * B quantities and profits, all finite, and one absent and evicted flag per firm
// (or none).
func CheckOutcome(params *pb.RunParams, o *pb.Outcome, firmID string) error {
	r := o.GetRound()
	b := int(params.GetBatch())
	if int(o.GetBatch()) != b {
		return invalid(r, "batch %d, the run's batch is %d", o.GetBatch(), b)
	}
	if !slices.Contains(o.GetFirmIds(), firmID) {
		return invalid(r, "the outcome does not name %s", clip(firmID, 64))
	}
	f := len(o.GetFirmIds())
	for _, a := range []struct {
		name   string
		values []float64
		want   int
	}{
		{"prices", o.GetPrices(), b},
		{"quantities", o.GetQuantities(), f * b},
		{"profits", o.GetProfits(), f * b},
	} {
		if len(a.values) != a.want {
			return invalid(r, "%d %s, want %d", len(a.values), a.name, a.want)
		}
		if i := firstNonFinite(a.values); i >= 0 {
			return invalid(r, "%s[%d] = %v is not finite", a.name, i, a.values[i])
		}
	}
	if n := len(o.GetAbsent()); n != 0 && n != f {
		return invalid(r, "%d absent flags for %d firms", n, f)
	}
	if n := len(o.GetEvicted()); n != 0 && n != f {
		return invalid(r, "%d evicted flags for %d firms", n, f)
	}
	return nil
}
