package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/qeetmart/qeetmart/internal/platform/validation"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
)

// A reserve, release or deduct sent with an Idempotency-Key leaves a
// receipt: the request's fingerprint and the reservation it answered with,
// written in the same transaction as the change. A repeat finds the
// receipt in its own batch's read and answers from it without applying
// anything, so a client's retry, or the gateway's, is applied once. Only
// successes leave receipts: a refused request changed nothing, and sent
// again it is decided again (stock may have arrived meanwhile).

// ReceiptTTL is how long a receipt answers repeats.
const ReceiptTTL = 24 * time.Hour

// maxKeyLen bounds an Idempotency-Key (as Stripe's).
const maxKeyLen = 255

// ErrKeyReused is an Idempotency-Key sent again with another request.
var ErrKeyReused = errors.New("idempotency key reused with a different request")

// Receipt is a keyed request's first outcome.
type Receipt struct {
	ID          string             `json:"id"`
	Fingerprint string             `json:"fingerprint"`
	Reservation domain.Reservation `json:"reservation"`
}

// Outcome is a reservation use case's answer, and whether it repeats the
// first answer to the same Idempotency-Key.
type Outcome struct {
	Reservation domain.Reservation
	Replayed    bool
}

// receiptFor names the receipt of a keyed request: one per caller and key
// (two callers' keys never meet), fingerprinted by what was asked, so the
// same key on another operation or body is refused. No key, no receipt.
type receiptFor struct{ id, fingerprint string }

func newReceipt(c Caller, key, operation string, request any) (receiptFor, error) {
	if key == "" {
		return receiptFor{}, nil
	}
	if len(key) > maxKeyLen || !visibleASCII(key) {
		return receiptFor{}, validation.Errors{"Idempotency-Key": "Idempotency-Key must be 1 to 255 visible ASCII characters"}
	}
	raw, err := json.Marshal(struct {
		Operation string `json:"operation"`
		Request   any    `json:"request"`
	}{operation, request})
	if err != nil {
		return receiptFor{}, err
	}
	id := sha256.Sum256([]byte(c.UserID + "\x00" + key))
	fp := sha256.Sum256(raw)
	return receiptFor{id: hex.EncodeToString(id[:]), fingerprint: hex.EncodeToString(fp[:])}, nil
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// keys adds the receipt to what a command reads.
func (r receiptFor) keys(k Keys) Keys {
	if r.id != "" {
		k.Receipts = []string{r.id}
	}
	return k
}

// once runs apply unless the receipt holds an answer already, and leaves
// one when it succeeds.
func (r receiptFor) once(apply func(w *Work) (domain.Reservation, error)) func(w *Work) (any, error) {
	return func(w *Work) (any, error) {
		if r.id == "" {
			res, err := apply(w)
			return Outcome{Reservation: res}, err
		}
		kept := w.Receipts[r.id]
		if kept.Found || kept.Changed {
			if kept.Value.Fingerprint != r.fingerprint {
				return nil, ErrKeyReused
			}
			return Outcome{Reservation: kept.Value.Reservation, Replayed: true}, nil
		}
		res, err := apply(w)
		if err != nil {
			return nil, err
		}
		kept.Value, kept.Changed = Receipt{ID: r.id, Fingerprint: r.fingerprint, Reservation: res}, true
		return Outcome{Reservation: res}, nil
	}
}

func outcome(v any, err error) (Outcome, error) {
	if err != nil {
		return Outcome{}, err
	}
	return v.(Outcome), nil
}
