package statestore

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
)

// fakeSidecar answers the state API with status and body, and keeps what
// it was sent.
func fakeSidecar(t *testing.T, status int, body string) (*Store, *[]byte) {
	t.Helper()
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v1.0/state/auth-store/transaction", r.URL.Path)
		assert.Equal(t, "test-token", r.Header.Get("dapr-api-token"))
		got, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return New(sidecar.New(p, "test-token"), "auth-store"), &got
}

func TestTransactSendsWhatDaprNeeds(t *testing.T) {
	store, sent := fakeSidecar(t, http.StatusNoContent, "")
	err := store.Transact(t.Context(),
		Op{Key: "session:1"},
		Op{Key: "user:1", Value: map[string]string{"id": "1"}, ETag: "7"},
		Op{Key: "user:1", Value: map[string]string{"sessionIds": "1"}, Projection: true},
		Op{Key: "email:a", Value: map[string]string{"userId": "1"}, Create: true, TTL: 120},
	)
	require.NoError(t, err)
	var body struct {
		Operations []struct {
			Operation string
			Request   struct {
				Key      string
				ETag     string
				Metadata map[string]string
				Options  map[string]string
			}
		}
	}
	require.NoError(t, json.Unmarshal(*sent, &body))
	ops := body.Operations
	require.Len(t, ops, 4)
	assert.Equal(t, "delete", ops[0].Operation)
	assert.Nil(t, ops[0].Request.Metadata)

	assert.Equal(t, "upsert", ops[1].Operation)
	assert.Equal(t, "7", ops[1].Request.ETag)
	assert.Equal(t, "first-write", ops[1].Request.Options["concurrency"], "an ETag write must not overwrite a newer value")
	assert.Equal(t, "application/json", ops[1].Request.Metadata["contentType"])

	assert.Equal(t, "true", ops[2].Request.Metadata["outbox.projection"])

	assert.Equal(t, "first-write", ops[3].Request.Options["concurrency"], "a create")
	assert.Equal(t, "120", ops[3].Request.Metadata["ttlInSeconds"])
}

func TestLostRacesAreConflicts(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		conflict bool
	}{
		{"ETag mismatch", http.StatusConflict, `{"errorCode":"ERR_STATE_SAVE"}`, true},
		{"PostgreSQL first-write on an existing key", http.StatusInternalServerError, `{"message":"... no item was updated"}`, true},
		{"possible etag mismatch", http.StatusInternalServerError, `{"message":"possible etag mismatch"}`, true},
		{"anything else", http.StatusInternalServerError, `{"message":"connection refused"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, _ := fakeSidecar(t, tt.status, tt.body)
			err := store.Save(t.Context(), Op{Key: "k", Value: 1, ETag: "1"})
			require.Error(t, err)
			assert.Equal(t, tt.conflict, errors.Is(err, ErrConflict))
		})
	}
}
