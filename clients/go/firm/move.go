package firm

import (
	"fmt"
	"slices"
	"strings"

	pb "github.com/stackelberg-market/clients/go/gen/stackelbergv1"
)

// CommittedTotal sums, per instance, the quantities committed by the earlier tiers of req (length
// batch; zeros in tier 0). The wire carries no total: a firm sums `committed` itself. An entry that
// does not hold len(firm_ids) * batch values is an error wrapping ErrInvalidMessage (Run never
// hands a Handler such a move request: it checks each one with CheckMove first).
func CommittedTotal(req *pb.MoveRequest, batch int) ([]float64, error) {
	total := make([]float64, batch)
	for _, t := range req.GetCommitted() {
		q := t.GetQuantities()
		n := len(t.GetFirmIds())
		if len(q) != n*batch {
			return nil, invalid(req.GetRound(), "committed quantities of tier %d: %d values, want %d firms x %d", t.GetTier(), len(q), n, batch)
		}
		for j := range n {
			for i := range batch {
				total[i] += q[j*batch+i]
			}
		}
	}
	return total, nil
}

// Row is row k (firm k) of a firm-major array of rows of length batch, or nil when the array does
// not hold it (e.g. own_last_quantity and own_marginal_cost are empty unless the run needs them).
func Row(values []float64, k, batch int) []float64 {
	if k < 0 || (k+1)*batch > len(values) {
		return nil
	}
	return values[k*batch : (k+1)*batch]
}

// ObservationColumn is column `column` of req's observation (B rows of
// RunParams.observation_columns), or nil when the run does not carry that column.
func ObservationColumn(params *pb.RunParams, req *pb.MoveRequest, column pb.ObservationColumn) []float64 {
	columns := params.GetObservationColumns()
	c := slices.Index(columns, column)
	if c < 0 {
		return nil
	}
	obs := req.GetObservation()
	batch := int(params.GetBatch())
	if len(obs) != batch*len(columns) {
		return nil
	}
	col := make([]float64, batch)
	for i := range col {
		col[i] = obs[i*len(columns)+c]
	}
	return col
}

// ColumnName is the display name of an observation column: its enum value name in lower case
// ("demand_shift", ...), or "column_<n>" for a column of a newer contract.
func ColumnName(column pb.ObservationColumn) string {
	name, ok := pb.ObservationColumn_name[int32(column)]
	if !ok || column == pb.ObservationColumn_OBSERVATION_COLUMN_UNSPECIFIED {
		return fmt.Sprintf("column_%d", int32(column))
	}
	return strings.ToLower(name)
}
