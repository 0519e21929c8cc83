package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qeetmart/qeetmart/internal/platform/readmodel"
	"github.com/qeetmart/qeetmart/internal/platform/sidecar"
	"github.com/qeetmart/qeetmart/internal/platform/statestore"
	"github.com/qeetmart/qeetmart/internal/testenv"
	"github.com/qeetmart/qeetmart/services/inventory/app"
	"github.com/qeetmart/qeetmart/services/inventory/domain"
	"github.com/qeetmart/qeetmart/services/inventory/store"
)

// The ledger reads its records with SQL, not through the sidecar (half
// the time of a batch's read, docs/inventory.md), and writes them back
// through Dapr at the version it read. So what it reads must be what
// Dapr's own read gives: the same value, the same ETag (the version
// state.postgresql compares a write against), absent when expired.
func TestTheLedgersReadsAgreeWithDapr(t *testing.T) {
	env := testenv.Start(t, []string{"inventory"})
	ctx := t.Context()
	state := statestore.New(sidecar.New(env.Ports("inventory").HTTP, env.DaprAPIToken("inventory")), "inventory-store")
	db, err := readmodel.Open(ctx, env.DSN("inventory"), "inventory")
	require.NoError(t, err)
	defer db.Close()
	st := store.New(state, store.NewReadModel(db))

	// Records of different lengths, read together (the longer one first,
	// by key and by row): each keeps its own.
	require.NoError(t, state.Save(ctx, statestore.Op{Key: "stock:R1", Value: domain.NewStock("R1", 5, 1, time.Now())}))
	require.NoError(t, state.Save(ctx, statestore.Op{Key: "stock:R0-LONGER", Value: domain.NewStock("R0-LONGER", 123456, 10, time.Now())}))
	w, err := st.Load(ctx, app.Keys{Stocks: []string{"R1", "R0-LONGER", "NONE"}})
	require.NoError(t, err)
	for _, id := range []string{"R1", "R0-LONGER"} {
		var viaDapr domain.Stock
		etag, found, err := state.Get(ctx, "stock:"+id, &viaDapr)
		require.NoError(t, err)
		require.True(t, found)
		read := w.Stocks[id]
		require.True(t, read.Found)
		assert.Equal(t, etag, read.ETag, "the version Dapr compares a write against")
		assert.Equal(t, viaDapr, read.Value)
	}
	assert.False(t, w.Stocks["NONE"].Found)
	read := w.Stocks["R1"]

	read.Value.Available--
	require.NoError(t, st.Commit(ctx, app.Batch{Stocks: []*app.Versioned[domain.Stock]{read}}), "a write at the version read is taken")
	require.ErrorIs(t, st.Commit(ctx, app.Batch{Stocks: []*app.Versioned[domain.Stock]{read}}), app.ErrConflict,
		"a write at a version no longer there is refused")

	require.NoError(t, state.Save(ctx, statestore.Op{Key: "receipt:gone", Value: app.Receipt{ID: "gone"}, TTL: 1}))
	require.Eventually(t, func() bool {
		w, err := st.Load(ctx, app.Keys{Receipts: []string{"gone"}})
		return assert.NoError(t, err) && !w.Receipts["gone"].Found
	}, 10*time.Second, 100*time.Millisecond, "an expired record is absent, as for Dapr")
}
