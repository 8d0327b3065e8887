package access

import (
	"context"
	"errors"
	"fmt"
)

// Idempotency is a caller's Idempotency-Key for one state-changing call: its
// scope and a hash of the request body.
type Idempotency struct {
	Scope    IdempotencyScope
	BodyHash string
}

// Replay looks up an earlier call with the same key. It returns the recorded
// outcome and true when there is one for the same body, an error matching
// ErrIdempotencyReused when the key was used with another body, and false
// when the key is new.
func (s *Service) Replay(ctx context.Context, idem Idempotency) (Outcome, bool, error) {
	rec, err := s.store.GetIdempotency(ctx, idem.Scope)
	switch {
	case errors.Is(err, ErrNotFound):
		return Outcome{}, false, nil
	case err != nil:
		return Outcome{}, false, fmt.Errorf("idempotency lookup: %w", err)
	case rec.BodyHash != idem.BodyHash:
		return Outcome{}, false, &Error{Code: CodeIdempotencyKeyReused, Message: "this Idempotency-Key was already used with a different request body"}
	}
	return rec.Outcome, true, nil
}
