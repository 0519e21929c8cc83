package clientip

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientIP(t *testing.T) {
	none, err := New("")
	require.NoError(t, err)
	lb, err := New("10.0.0.0/8, 192.168.1.5")
	require.NoError(t, err)

	tests := []struct {
		name string
		r    *Resolver
		peer string
		xff  string
		want string
	}{
		{"no trusted proxies: the peer, whatever the header says", none, "203.0.113.9", "1.2.3.4", "203.0.113.9"},
		{"untrusted peer cannot set the header", lb, "203.0.113.9", "1.2.3.4", "203.0.113.9"},
		{"trusted peer: the client it saw", lb, "10.1.2.3", "198.51.100.7", "198.51.100.7"},
		{"spoofed left part is ignored", lb, "10.1.2.3", "1.2.3.4, 198.51.100.7", "198.51.100.7"},
		{"chain of trusted proxies", lb, "10.1.2.3", "198.51.100.7, 192.168.1.5, 10.9.9.9", "198.51.100.7"},
		{"malformed hop", lb, "10.1.2.3", "198.51.100.7, garbage", "10.1.2.3"},
		{"empty header", lb, "10.1.2.3", "", "10.1.2.3"},
		{"all hops trusted", lb, "10.1.2.3", "10.0.0.1", "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.r.ClientIP(tt.peer, tt.xff))
		})
	}
	_, err = New("not-an-ip")
	assert.Error(t, err)
}
