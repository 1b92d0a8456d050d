package firm

import "fmt"

// Subjects names the NATS subjects of one run (docs/protocol.md, "Subjects").
type Subjects struct{ Run string }

// Register is the subject firm id registers on (request/reply: Register -> RegisterReply).
func (s Subjects) Register(firmID string) string {
	return fmt.Sprintf("stk.%s.register.%s", s.Run, firmID)
}

// Move is the subject the market opens tier t on (MoveRequest).
func (s Subjects) Move(tier uint32) string { return fmt.Sprintf("stk.%s.move.%d", s.Run, tier) }

// Submit is the subject firm id submits its quantities on (Submission).
func (s Subjects) Submit(firmID string) string { return fmt.Sprintf("stk.%s.submit.%s", s.Run, firmID) }

// Reject is the subject the market sends firm id's rejects on (Reject).
func (s Subjects) Reject(firmID string) string { return fmt.Sprintf("stk.%s.reject.%s", s.Run, firmID) }

// Outcome is the subject of every cleared round's Outcome.
func (s Subjects) Outcome() string { return fmt.Sprintf("stk.%s.outcome", s.Run) }

// Train is the subject of TrainingInfo (CTDE learners only).
func (s Subjects) Train() string { return fmt.Sprintf("stk.%s.train", s.Run) }

// Control is the subject of RunControl messages.
func (s Subjects) Control() string { return fmt.Sprintf("stk.%s.control", s.Run) }

// Stats is the subject of RoundStatsBatch messages (the market publishes them into the run's stream).
func (s Subjects) Stats() string { return fmt.Sprintf("stk.%s.stats", s.Run) }

// FirmInbox is firm id's inbox prefix: the client must connect with it (nats.CustomInboxPrefix),
// because the market answers a Register only in the registering firm's own inbox and the server
// lets the firm subscribe only below it.
func (s Subjects) FirmInbox(firmID string) string {
	return fmt.Sprintf("_INBOX.stk.%s.firm.%s", s.Run, firmID)
}
