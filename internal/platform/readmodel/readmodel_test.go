package readmodel

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLikePrefix(t *testing.T) {
	assert.Equal(t, `ann%`, LikePrefix("ann"))
	assert.Equal(t, `50\%\_off\\%`, LikePrefix(`50%_off\`))
}

func TestKeysOf(t *testing.T) {
	d := &DB{appID: "user"}
	assert.Equal(t, `'user||profile:%'`, d.KeysOf("profile"))
	assert.Panics(t, func() { d.KeysOf("x'; DROP TABLE state; --") })
}
