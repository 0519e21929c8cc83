// Package statestore reads and writes one Dapr state store through the
// sidecar's HTTP state API. HTTP, not the SDK's gRPC: it stores JSON values
// as JSONB in PostgreSQL (gRPC transactions store base64), so the data stays
// readable with SQL for read models.
package statestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
)

// ErrConflict means a write lost a race: the ETag no longer matched, or a
// create found the key already there.
var ErrConflict = errors.New("state conflict")

// ErrInvalidKey refuses a key Dapr or PostgreSQL would choke on (a generic
// 500 from the sidecar), before any call is made.
var ErrInvalidKey = errors.New("invalid state key")

// maxKeyLen keeps keys far inside what the stores index comfortably.
const maxKeyLen = 1024

// ValidKey reports why key cannot be stored: empty, too long, not UTF-8,
// holding "||" (Dapr's app-id separator) or a control character (NUL
// cannot be stored in PostgreSQL text).
func ValidKey(key string) error {
	if key == "" || len(key) > maxKeyLen || !utf8.ValidString(key) || strings.Contains(key, "||") {
		return fmt.Errorf("%w: %.64q", ErrInvalidKey, key)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %.64q", ErrInvalidKey, key)
		}
	}
	return nil
}

// Store is one named state store.
type Store struct {
	dapr *sidecar.Client
	name string
}

// New returns the store called name, reached through dapr.
func New(dapr *sidecar.Client, name string) *Store { return &Store{dapr: dapr, name: name} }

// Get reads key into v. found is false when the key does not exist.
func (s *Store) Get(ctx context.Context, key string, v any) (etag string, found bool, err error) {
	if err := ValidKey(key); err != nil {
		return "", false, err
	}
	resp, err := s.do(ctx, http.MethodGet, "/"+url.PathEscape(key), nil)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return "", false, nil
	case http.StatusOK:
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return "", false, fmt.Errorf("state %s/%s: decode: %w", s.name, key, err)
		}
		return resp.Header.Get("ETag"), true, nil
	}
	return "", false, stateError(resp, "get "+key)
}

// Item is one key of a GetMany: its JSON value and ETag, when Found.
type Item struct {
	Key   string
	Value json.RawMessage
	ETag  string
	Found bool
}

// GetMany reads keys in one call (Dapr's bulk get; PostgreSQL answers
// them with one query), in the order asked.
func (s *Store) GetMany(ctx context.Context, keys []string) ([]Item, error) {
	for _, k := range keys {
		if err := ValidKey(k); err != nil {
			return nil, err
		}
	}
	raw, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		return nil, err
	}
	resp, err := s.do(ctx, http.MethodPost, "/bulk", bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, stateError(resp, "bulk get")
	}
	var answers []struct {
		Key   string          `json:"key"`
		Data  json.RawMessage `json:"data"`
		ETag  string          `json:"etag"`
		Error string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answers); err != nil {
		return nil, fmt.Errorf("state %s: bulk get: decode: %w", s.name, err)
	}
	byKey := make(map[string]Item, len(answers))
	for _, a := range answers {
		if a.Error != "" {
			return nil, fmt.Errorf("state %s: bulk get %s: %s", s.name, a.Key, a.Error)
		}
		byKey[a.Key] = Item{Key: a.Key, Value: a.Data, ETag: a.ETag, Found: len(a.Data) > 0 && string(a.Data) != "null"}
	}
	items := make([]Item, len(keys))
	for i, k := range keys {
		items[i] = byKey[k]
		items[i].Key = k
	}
	return items, nil
}

// Op is one write in a transaction.
type Op struct {
	Key    string
	Value  any    // nil: delete
	ETag   string // "" and Create false: write whatever is there
	Create bool   // insert only if the key is absent (first-write, no ETag)
	TTL    int    // seconds; 0 keeps no expiry
	// Projection marks an upsert that is not stored: on a store with Dapr's
	// outbox enabled, its Value is published in place of the stored value of
	// the same Key. Dapr handles one projection per transaction safely; put
	// it last.
	Projection bool
	// Opaque stores Value without saying it is JSON: a Redis store told so
	// writes it with RedisJSON's commands, which a plain Redis lacks.
	Opaque bool
}

// Save writes one key.
func (s *Store) Save(ctx context.Context, op Op) error { return s.Transact(ctx, op) }

// Transact applies ops atomically (PostgreSQL: one database transaction).
// A lost race on any op (ETag mismatch, create on an existing key) fails
// them all with ErrConflict.
func (s *Store) Transact(ctx context.Context, ops ...Op) error {
	type request struct {
		Key      string            `json:"key"`
		Value    any               `json:"value,omitempty"`
		ETag     string            `json:"etag,omitempty"`
		Metadata map[string]string `json:"metadata,omitempty"`
		Options  map[string]string `json:"options,omitempty"`
	}
	type operation struct {
		Operation string  `json:"operation"`
		Request   request `json:"request"`
	}
	body := struct {
		Operations []operation `json:"operations"`
	}{}
	for _, op := range ops {
		if err := ValidKey(op.Key); err != nil {
			return err
		}
		r := request{Key: op.Key, Value: op.Value, ETag: op.ETag}
		if op.Create || op.ETag != "" {
			r.Options = map[string]string{"concurrency": "first-write"}
		}
		kind := "upsert"
		if op.Value == nil {
			kind = "delete"
		} else {
			// Values are JSON; saying so also makes an outbox publish them
			// as JSON rather than as Go's %v of the decoded value.
			r.Metadata = map[string]string{}
			if !op.Opaque {
				r.Metadata["contentType"] = "application/json"
			}
			if op.TTL > 0 {
				r.Metadata["ttlInSeconds"] = strconv.Itoa(op.TTL)
			}
			if op.Projection {
				r.Metadata["outbox.projection"] = "true"
			}
		}
		body.Operations = append(body.Operations, operation{Operation: kind, Request: r})
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := s.dapr.NewRequest(ctx, http.MethodPost, "/v1.0/state/"+url.PathEscape(s.name)+"/transaction", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.dapr.Do(req)
	if err != nil {
		return fmt.Errorf("state %s: transaction: %w", s.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return stateError(resp, "transaction")
}

func (s *Store) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := s.dapr.NewRequest(ctx, method, "/v1.0/state/"+url.PathEscape(s.name)+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := s.dapr.Do(req)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", s.name, err)
	}
	return resp, nil
}

// stateError classifies daprd's answer. PostgreSQL reports a first-write
// that found the key taken as a generic failure ("no item was updated"),
// not as an ETag mismatch; both mean a lost race.
func stateError(resp *http.Response, what string) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := string(raw)
	if resp.StatusCode == http.StatusConflict || strings.Contains(msg, "no item was updated") ||
		strings.Contains(strings.ToLower(msg), "etag") {
		return fmt.Errorf("%w: %s", ErrConflict, msg)
	}
	return fmt.Errorf("state %s: HTTP %d: %s", what, resp.StatusCode, msg)
}
